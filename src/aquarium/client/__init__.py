"""``aquarium.client``: a small typed, synchronous client of Aquarium (and of Zuora's AQuA,
Reporting and Data Query APIs), used by the ``aquarium aqua`` / ``report`` / ``dq`` commands
and the tests.

::

    from pathlib import Path
    from aquarium.client import Client, Credentials

    with Client("http://127.0.0.1:8080", Credentials.basic("demo", "demo")) as aquarium:
        job = aquarium.submit(["select Id, Name from Account"], name="accounts")
        job = aquarium.wait(job.id, on_progress=lambda job, detail: print(job.status))
        paths = aquarium.download_job(job, Path("out"))

        query = aquarium.data_queries.submit("select accountnumber, balance from account")
        query = aquarium.data_queries.wait(query.id)
        aquarium.data_queries.download(query.id, Path("balances.csv"))

Modules: :mod:`~aquarium.client.api` (the :class:`Client`), :mod:`~aquarium.client.session`
(credentials, tokens, HTTP), :mod:`~aquarium.client.models` (typed results),
:mod:`~aquarium.client.dataquery` (Data Query jobs: ``Client.data_queries``),
:mod:`~aquarium.client.control` (a ``--test-control`` server's fault rules and requests seen:
``Client.control``),
:mod:`~aquarium.client.keys` (Data Query's RSA ``encryptionKey`` from a key file),
:mod:`~aquarium.client.files` (resumable downloads), :mod:`~aquarium.client.config` (settings
from options, environment and a TOML file), :mod:`~aquarium.client.errors` (the exception tree:
``ClientError`` > ``NotAuthenticated``, ``NotFound``, ``Refused``, ``ServerUnreachable``,
``TimedOut``, ``ConfigError``).
"""

from aquarium.client.api import DEFAULT_URL, Client
from aquarium.client.dataquery import DataQueries, DataQueryJob, DataQueryStatus
from aquarium.client.errors import (
    ClientError,
    ConfigError,
    NotAuthenticated,
    NotFound,
    Refused,
    ServerUnreachable,
    TimedOut,
)
from aquarium.client.models import (
    Batch,
    BatchProgress,
    Download,
    Job,
    JobDetail,
    JobPage,
    JobSummary,
    Progress,
    Report,
    ReportData,
    ReportRun,
    ReportRunPage,
)
from aquarium.client.session import Credentials

__all__ = [
    "DEFAULT_URL",
    "Batch",
    "BatchProgress",
    "Client",
    "ClientError",
    "ConfigError",
    "Credentials",
    "DataQueries",
    "DataQueryJob",
    "DataQueryStatus",
    "Download",
    "Job",
    "JobDetail",
    "JobPage",
    "JobSummary",
    "NotAuthenticated",
    "NotFound",
    "Progress",
    "Refused",
    "Report",
    "ReportData",
    "ReportRun",
    "ReportRunPage",
    "ServerUnreachable",
    "TimedOut",
]
