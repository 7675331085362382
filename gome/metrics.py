"""Competition metrics, selected by name from `competition.yaml`.

Placeholder contract (the grading work fills in the functions): each metric takes the answers
and the submission aligned row-for-row by id, as DataFrames holding `target_columns`, plus the
spec's `metric_params`, and returns a float.
"""

METRICS: dict[str, object] = {
    name: None
    for name in (
        "accuracy",
        "roc_auc",
        "mean_column_roc_auc",
        "log_loss",
        "multiclass_log_loss",
        "rmse",
        "mean_column_rmsle",
        "quadratic_weighted_kappa",
        "string_accuracy",
        "pixel_rmse",
    )
}
