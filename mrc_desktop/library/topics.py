"""Topics and sectors an article can be filed under (labels translated where shown)."""

from __future__ import annotations

from mrc_desktop.i18n import N_

TOPICS: dict[str, str] = {
    "rights": N_("Your rights"),
    "recruitment": N_("Recruitment and fees"),
    "contracts": N_("Contracts and documents"),
    "wages": N_("Wages and pay"),
    "forced-labour": N_("Forced labour and trafficking"),
    "status": N_("Migration status"),
    "social-protection": N_("Social security and health"),
    "women": N_("Women migrant workers"),
    "sectors": N_("Domestic work, fishing and other sectors"),
    "unions": N_("Unions and complaints"),
    "departure-and-return": N_("Before you go and coming home"),
    "money-and-skills": N_("Money and skills"),
    "safety": N_("Safety at work"),
    "library": N_("Using this library"),
}

SECTORS: dict[str, str] = {
    "agriculture": N_("Agriculture"),
    "construction": N_("Construction"),
    "domestic-work": N_("Domestic work"),
    "fishing": N_("Fishing"),
    "manufacturing": N_("Manufacturing"),
    "garments": N_("Garments"),
    "hospitality": N_("Hospitality"),
    "health": N_("Health care"),
}
