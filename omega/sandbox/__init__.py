"""Scripts that run inside gome's sandbox, not in the gome process.

The sandbox mounts neither the repository nor the installed `omega` package's source tree
reliably, so these files are copied next to the candidate into the run's folder and import
each other by their bare module names. They import only the standard library, numpy, scipy
and scikit-learn (plus lightgbm and xgboost for the reference models), and do nothing on
import, so the gome process can also import them for their constants.
"""
