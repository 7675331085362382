"""Imports added for names a script uses but never imports."""

from __future__ import annotations

from gome.optimizer.auto_imports import add_missing_imports
from gome.optimizer.static_checks import find_problems

SCRIPT = '''"""A model that forgot its imports."""
from __future__ import annotations

from sklearn.base import BaseEstimator


class Model(BaseEstimator, RegressorMixin):
    def fit(self, X, y):
        X, y = validate_data(self, X, y)
        self.centres_ = KMeans(3, n_init=1).fit(X).cluster_centers_
        self.mean_ = np.mean(y) + made_up_helper(X)
        return self
'''


def test_known_names_get_their_import_after_the_last_import() -> None:
    fixed, added = add_missing_imports(SCRIPT)
    assert added == [
        "from sklearn.base import RegressorMixin",
        "from sklearn.utils.validation import validate_data",
        "from sklearn.cluster import KMeans",
        "import numpy as np",
    ]
    lines = fixed.splitlines()
    start = lines.index("from sklearn.base import BaseEstimator") + 1
    assert lines[start : start + 4] == added
    # only the unknown name is left for the model
    problems = find_problems(fixed)
    assert [p.message for p in problems] == ["undefined name 'made_up_helper'"]


def test_nothing_to_add_or_unparsable_code_is_left_alone() -> None:
    clean = "import numpy as np\nprint(np.pi)\n"
    assert add_missing_imports(clean) == (clean, [])
    assert add_missing_imports("x = (\n") == ("x = (\n", [])
    assert add_missing_imports("print(pd.DataFrame())\n")[0].startswith("import pandas as pd\n")


def test_a_name_imported_from_the_wrong_module_is_moved_to_the_right_one() -> None:
    code = (
        "import os\n"
        "from sklearn.utils.validation import check_is_fitted, check_classification_targets\n"
        "from sklearn.utils.validation import made_up_check\n"
        "print(os, check_is_fitted, check_classification_targets, made_up_check)\n"
    )
    fixed, added = add_missing_imports(code)
    assert added == ["from sklearn.utils.multiclass import check_classification_targets"]
    assert fixed.splitlines()[1:4] == [
        "from sklearn.utils.validation import check_is_fitted",
        "from sklearn.utils.multiclass import check_classification_targets",
        "from sklearn.utils.validation import made_up_check",  # found nowhere: the model's job
    ]
