"""The Python API, in modules loaded on first use so `import mlops_nb` stays light."""
