"""The metric catalog: Keras's spellings -> canonical metric, direction, val_ pairing."""

from __future__ import annotations

import pytest

from fitwatch.metrics import catalog


@pytest.mark.parametrize(("key", "canonical"), [
    ("acc", "accuracy"), ("ACC", "accuracy"), ("Accuracy", "accuracy"), ("binary_accuracy", "accuracy"),
    ("sparse_categorical_accuracy", "accuracy"), ("val_acc", "accuracy"),
    ("mse", "mean_squared_error"), ("MSE", "mean_squared_error"), ("mean_squared_error", "mean_squared_error"),
    ("mae_1", "mean_absolute_error"), ("weighted_mae", "mean_absolute_error"), ("weighted_mae_1", "mean_absolute_error"),
    ("RootMeanSquaredError", "root_mean_squared_error"), ("auc_1", "auc"),
    ("sparse_top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy"),
    ("loss", "loss"), ("val_loss", "loss"),
])
def test_keras_spellings_map_to_one_canonical_metric(key: str, canonical: str) -> None:
    assert catalog.canonical_name(key) == canonical


def test_per_output_prefixes_need_the_output_names() -> None:
    outputs = ["cls", "reg"]
    assert catalog.canonical_name("cls_accuracy", outputs) == "accuracy"
    assert catalog.canonical_name("val_reg_mae", outputs) == "mean_absolute_error"
    assert catalog.canonical_name("reg_loss", outputs) == "loss"


def test_unknown_keys_get_no_entry_rather_than_a_guess() -> None:
    assert catalog.lookup("mean_pred") is None
    assert catalog.direction("rmse_sparse") is None


def test_directions_say_which_way_is_better() -> None:
    assert catalog.direction("val_loss") == "min"
    assert catalog.direction("acc") == "max"
    assert catalog.direction("r2_score") == "max"
    assert catalog.direction("mape") == "min"


def test_mean_type_metrics_are_told_apart_from_state_metrics() -> None:
    assert catalog.lookup("mae").aggregation == "mean"  # type: ignore[union-attr]
    for key in ("root_mean_squared_error", "auc", "precision", "r2_score"):
        assert catalog.lookup(key).aggregation == "state", key  # type: ignore[union-attr]


def test_val_pairs_follow_keras_prefix_rule_exactly() -> None:
    keys = ["loss", "val_loss", "acc", "val_acc", "val_x", "val_val_x", "lr"]
    assert catalog.val_pairs(keys) == {"acc": "val_acc", "loss": "val_loss", "val_x": "val_val_x"}
