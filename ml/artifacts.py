"""The names of what runs leave in MLflow, in one place: training writes them, the drift check, the
validation report, the API and the console read them. Plain strings and no imports, so every image
(the API and the console have no training extra) can use them."""

from __future__ import annotations

# The registered model: a pyfunc whose `scoring` artifact is the scoring bundle the API loads.
SCORING_ARTIFACT = "scoring"

# A training run.
SCHEMA_ARTIFACT = "schema/schema.json"
REFERENCE_ARTIFACT_DIR, REFERENCE_FILE = "reference", "reference.parquet"
REFERENCE_ARTIFACT = f"{REFERENCE_ARTIFACT_DIR}/{REFERENCE_FILE}"  # the drift check's reference sample
SCORE_COLUMN = "prediction"  # the model's score in the reference sample (and in the drift check)
TEST_SCORES_ARTIFACT = "evaluation/test_scores.parquet"
IMPORTANCE_ARTIFACT = "evaluation/feature_importance.json"
DATA_SUMMARY_ARTIFACT = "evaluation/data_summary.json"
PARAMS_ARTIFACT = "params/params.json"
ROC_ARTIFACT = "curves/roc_test.json"
PR_ARTIFACT = "curves/pr_test.json"
CALIBRATION_ARTIFACT = "curves/calibration_test.json"
MODEL_META_ARTIFACT = "model_meta.json"
DATA_VALIDATION_ARTIFACT = "validation_report.txt"  # the input data's checks, at training
FAIRNESS_ARTIFACT = "fairness/fairness.json"
FAIRNESS_TABLE_ARTIFACT = "fairness/fairness_table.csv"
VALIDATION_REPORT_HTML, VALIDATION_REPORT_MD = "validation_report.html", "validation_report.md"

# A drift check's run in the monitoring experiment.
DRIFT_HTML_ARTIFACT, DRIFT_JSON_ARTIFACT = "drift_report.html", "drift_summary.json"
