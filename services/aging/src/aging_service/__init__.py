"""The aging service: days past due and delinquency stages from core banking's events."""
