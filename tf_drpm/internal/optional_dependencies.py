"""Import guard for the experiment subpackages' optional dependencies (internal).

The core (`ops`, `distributions`, `layers`, `callbacks`, `models`) needs only
TensorFlow, TensorFlow Probability, Keras and NumPy. The experiment
subpackages also use SciPy and scikit-learn (Hungarian matching, NMI / ARI,
GMM initialisation, linear probes); a plain `pip install tf_drpm` does not
bring them, the `experiments` extra does.
"""

import importlib.util

__all__ = ["require"]


def require(package, modules, extra="experiments"):
    """Raises `ImportError` naming the missing modules and the extra to install.

    Args:
        package: Name of the importing package, e.g. `"tf_drpm.clustering"`.
        modules: Dict from import name to distribution name, e.g.
            `{"sklearn": "scikit-learn"}`.
        extra: Name of the setup.cfg extra that installs them.

    Raises:
        ImportError: if any of `modules` cannot be imported.
    """
    missing = []
    for module, distribution in modules.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):  # a `None` entry in sys.modules
            found = False
        if not found:
            missing.append(distribution)
    if missing:
        raise ImportError(
            f"{package} needs {' and '.join(missing)}, which a plain `pip install "
            f"tf_drpm` does not install. Install them with: pip install "
            f"'tf_drpm[{extra}]' (or: pip install {' '.join(missing)})."
        )
