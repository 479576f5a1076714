"""A tiny accounts application: the code under test of the zero-conftest example."""
