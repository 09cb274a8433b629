"""The metric catalog: logged key -> canonical metric, direction, aggregation, val_ pairing.

Keras logs a metric under the name the user typed (`acc`, `MSE`, a function's
`__name__`), with per-output prefixes (`cls_accuracy`), dedupe suffixes (`mae_1`) and
`weighted_` for weighted metrics. The catalog maps those spellings to one canonical
metric so that runs line up in a comparison and "best epoch" uses the right direction.
It never parses meaning it cannot be sure of: an unknown key gets no entry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

Direction = Literal["min", "max"]
# "mean": the logged value is a (weighted) running mean of per-batch values, so a batch's
# own value can be recovered from two consecutive running means. "state": a ratio or a
# root of accumulated state (AUC, precision, RMSE, R2): it cannot.
Aggregation = Literal["mean", "state"]


@dataclass(frozen=True)
class MetricInfo:
    canonical: str
    direction: Direction
    aggregation: Aggregation
    aliases: tuple[str, ...] = ()


_METRICS: tuple[MetricInfo, ...] = (
    MetricInfo("loss", "min", "mean"),
    # `acc`/`accuracy` resolve to binary, categorical or sparse accuracy by the output's
    # shape; they measure the same thing, so they share a canonical name.
    MetricInfo(
        "accuracy",
        "max",
        "mean",
        ("acc", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy"),
    ),
    MetricInfo("top_k_categorical_accuracy", "max", "mean", ("top_k_accuracy",)),
    MetricInfo("sparse_top_k_categorical_accuracy", "max", "mean", ("sparse_top_k_accuracy",)),
    MetricInfo("mean_squared_error", "min", "mean", ("mse",)),
    MetricInfo("mean_absolute_error", "min", "mean", ("mae",)),
    MetricInfo("mean_absolute_percentage_error", "min", "mean", ("mape",)),
    MetricInfo("mean_squared_logarithmic_error", "min", "mean", ("msle",)),
    MetricInfo("root_mean_squared_error", "min", "state", ("rmse",)),
    MetricInfo("log_cosh_error", "min", "mean", ("logcosh", "log_cosh")),
    MetricInfo("cosine_similarity", "max", "mean"),
    MetricInfo("r2_score", "max", "state"),
    MetricInfo("binary_crossentropy", "min", "mean", ("bce",)),
    MetricInfo("categorical_crossentropy", "min", "mean", ("cce",)),
    MetricInfo("sparse_categorical_crossentropy", "min", "mean", ("scce",)),
    MetricInfo("binary_focal_crossentropy", "min", "mean"),
    MetricInfo("categorical_focal_crossentropy", "min", "mean"),
    MetricInfo("kl_divergence", "min", "mean", ("kld", "kullback_leibler_divergence")),
    MetricInfo("poisson", "min", "mean"),
    MetricInfo("hinge", "min", "mean"),
    MetricInfo("squared_hinge", "min", "mean"),
    MetricInfo("categorical_hinge", "min", "mean"),
    MetricInfo("auc", "max", "state"),
    MetricInfo("precision", "max", "state"),
    MetricInfo("recall", "max", "state"),
    MetricInfo("precision_at_recall", "max", "state"),
    MetricInfo("recall_at_precision", "max", "state"),
    MetricInfo("sensitivity_at_specificity", "max", "state"),
    MetricInfo("specificity_at_sensitivity", "max", "state"),
    MetricInfo("f1_score", "max", "state"),
    MetricInfo("fbeta_score", "max", "state"),
    MetricInfo(
        "mean_iou", "max", "state", ("iou", "binary_iou", "one_hot_iou", "one_hot_mean_iou")
    ),
    MetricInfo("true_positives", "max", "state"),
    MetricInfo("true_negatives", "max", "state"),
    MetricInfo("false_positives", "min", "state"),
    MetricInfo("false_negatives", "min", "state"),
    MetricInfo("pearson_correlation", "max", "state"),
    MetricInfo("concordance_correlation", "max", "state"),
)

# Public: the server serves the catalog from here (GET /api/v1/metrics/catalog).
METRICS = _METRICS

_BY_NAME: dict[str, MetricInfo] = {}
for _info in _METRICS:
    for _name in (_info.canonical, *_info.aliases):
        _BY_NAME[_name] = _info

# CamelCase class names are accepted by Keras too ('RootMeanSquaredError').
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_DEDUPE_SUFFIX = re.compile(r"_\d+$")


def _normalise(name: str) -> str:
    if any(c.isupper() for c in name[1:]) and any(c.islower() for c in name):
        name = _CAMEL.sub("_", name)
    return name.lower()


def lookup(key: str, output_names: Iterable[str] = ()) -> MetricInfo | None:
    """The catalog entry of a logged key, or None if the key's metric is not known.

    `val_` is stripped (the validation twin has the same metric). `output_names` are the
    model's outputs, whose `<name>_` prefixes Keras puts on per-output keys.
    """
    candidates = [key]
    if key.startswith("val_"):
        candidates.append(key[4:])
    for candidate in list(candidates):
        for output in output_names:
            if candidate.startswith(output + "_"):
                candidates.append(candidate[len(output) + 1 :])
    for candidate in candidates:
        for variant in (candidate, _DEDUPE_SUFFIX.sub("", candidate)):
            for name in (variant, variant.removeprefix("weighted_")):
                info = _BY_NAME.get(_normalise(name))
                if info is not None:
                    return info
    return None


def canonical_name(key: str, output_names: Iterable[str] = ()) -> str | None:
    info = lookup(key, output_names)
    return info.canonical if info else None


def direction(key: str, output_names: Iterable[str] = ()) -> Direction | None:
    """'min' or 'max' (which way is better), None for an unknown metric."""
    info = lookup(key, output_names)
    return info.direction if info else None


def val_pairs(keys: Iterable[str]) -> dict[str, str]:
    """`{train_key: val_key}` for every key whose `val_` twin is among `keys`.

    Pairs by the exact `val_` + key rule Keras uses, so a train key that itself starts
    with `val_` (a metric named `val_x`) pairs with `val_val_x`, not with `x`.
    """
    present = set(keys)
    return {key: "val_" + key for key in sorted(present) if "val_" + key in present}
