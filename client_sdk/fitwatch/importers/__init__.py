"""Importers: training history that was not logged by fitwatch, into runs on a server.

    model.py        `ImportedRun` / `ImportedSeries`: what every reader produces
    csv_logger.py   a `keras.callbacks.CSVLogger` file
    history.py      a JSON dump of `History.history`
    tensorboard.py  TensorBoard event directories (the `import` extra: tensorboard)
    upload.py       an `ImportedRun` through the server's API, idempotently

The CLI is `fitwatch import csv|history|tensorboard` (`fitwatch/cli/importing.py`).
"""

from __future__ import annotations

from fitwatch.importers.csv_logger import read_csv_logger, read_csv_logger_fits
from fitwatch.importers.history import read_history
from fitwatch.importers.model import ImportedRun, ImportedSeries
from fitwatch.importers.upload import UploadReport, import_run_id, upload_run

__all__ = [
    "ImportedRun",
    "ImportedSeries",
    "UploadReport",
    "import_run_id",
    "read_csv_logger",
    "read_csv_logger_fits",
    "read_history",
    "upload_run",
]
