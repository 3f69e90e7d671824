"""kaohe (考核): customer-service performance appraisal."""

__version__ = "0.1.0"
