"""adplan: an advertising agency's planning data work as Airflow 3 DAGs, on AWS or on embedded engines."""

__version__ = "0.1.0"
