"""Schemes (考核方案): YAML → typed, immutable models."""
