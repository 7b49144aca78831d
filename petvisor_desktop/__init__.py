"""Petvisor Desktop: a fully local voice receptionist that books vet appointments in Vetstoria."""

__version__ = "0.1.0"
