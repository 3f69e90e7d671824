"""Reports: terminal tables, CSV, and xlsx forms (考核表)."""
