"""Mining and routing of citizen appeals written in Russian.

The package holds everything the training pipelines, the service and the evaluation share; modules are
small and named after one concept each (text, datasets, splits, nlp, masking, places, features, ...).
Nothing is loaded at import time.
"""

__version__ = "0.1.0"
