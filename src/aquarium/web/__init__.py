"""The Job Finder: server-rendered pages over the same services as the API (an edge, like api/).

``routes.router`` is what the application includes. Pages: sign-in (``signin_routes``), jobs and
their files (``job_pages``), reports and runs (``report_pages``), the object catalogue with a
ZOQL box (``object_pages``). Sessions and CSRF: ``sessions`` and ``guard``; templates, display
filters and error pages: ``pages``. Templates are ``templates/*.html``; ``static/`` holds the one
style sheet and the one script, both served from the package (no CDN, no external fonts).
"""
