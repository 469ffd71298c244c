"""Run tap-zuora's own discovery against a base URL (run by the tap's interpreter).

Usage: ``python tap_zuora_discover.py BASE_URL CONFIG_JSON``; prints the catalog's streams as
JSON. The only change to the tap is its base URL: its table of Zuora data-center URLs points at
the server under test, as a user changing the base URL would.
"""

import json
import sys

from tap_zuora import client, discover


def main() -> None:
    base_url, config = sys.argv[1], json.loads(sys.argv[2])
    client.URLS = {key: [base_url] for key in client.URLS}
    streams = discover.discover_streams(client.Client.from_config(config))
    json.dump(streams, sys.stdout)


if __name__ == "__main__":
    main()
