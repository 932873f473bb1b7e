"""Pytest configuration shared by all tests."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

# tf.test.TestCase carries a deprecated `test_session` context manager that
# pytest would collect (and skip) as a test in every class.
tf.test.TestCase.test_session = None
