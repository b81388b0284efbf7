"""Workflows: builds and deploys started from git pushes and pull requests."""
