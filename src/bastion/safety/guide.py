"""The personal-security guide as data: risk factors, plan actions, checklists and steps.

Taken from the critical-infrastructure workers' personal security action guide: the
factors that raise the potential for violence, the questions to ask when assessing
your security needs, the actions of its sections (home, vehicle and travel,
situational awareness, online security, doxing), the suspicious-activity warning
signs, the anonymous-call checklist and the doxing response.
"""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("low", "moderate", "elevated", "high")
SECTIONS = {
    "home": "Protecting your home",
    "vehicle_travel": "Motor vehicles and travel",
    "situational_awareness": "Situational awareness",
    "online_security": "Online security",
    "doxing": "Doxing",
}


@dataclass(frozen=True, slots=True)
class Factor:
    """One yes/no question of the self-assessment and how much a yes weighs."""

    id: str
    group: str
    question: str
    weight: int


@dataclass(frozen=True, slots=True)
class PlanAction:
    """One action of the guide, included from ``min_level`` up or when a factor says yes."""

    id: str
    section: str
    text: str
    min_level: str = "low"
    factors: tuple[str, ...] = ()

    def applies(self, level: str, answers: dict[str, bool]) -> bool:
        """Return True when this action belongs in the plan for ``level`` and ``answers``."""
        if LEVELS.index(level) >= LEVELS.index(self.min_level):
            return True
        return any(answers.get(f, False) for f in self.factors)


@dataclass(frozen=True, slots=True)
class Item:
    """A checklist entry: a code and the guide's words."""

    id: str
    text: str


FACTORS: tuple[Factor, ...] = (
    Factor("working_alone", "workplace", "Do you work alone or in isolated areas?", 1),
    Factor("in_person_services", "workplace", "Do you provide in-person services or care?", 1),
    Factor(
        "dangerous_materials",
        "workplace",
        "Do you work with dangerous materials or information sensitive to national security?",
        1,
    ),
    Factor(
        "critical_infrastructure",
        "workplace",
        "Are you responsible for protecting local or national critical infrastructure?",
        1,
    ),
    Factor(
        "occupation_target",
        "personal",
        "Does your occupation or professional role make you an attractive target?",
        1,
    ),
    Factor(
        "specific_threats",
        "personal",
        "Is there credible evidence that suggests a specific risk to you?",
        3,
    ),
    Factor("targeted_before", "personal", "Have you been targeted or threatened in the past?", 2),
    Factor(
        "visible_affiliations",
        "personal",
        "Do you display group affiliations that make you an attractive target?",
        1,
    ),
)
FACTOR_IDS = frozenset(f.id for f in FACTORS)

ACTIONS: tuple[PlanAction, ...] = (
    PlanAction("home_locks", "home", "Secure external doors and windows with good locks."),
    PlanAction(
        "home_lighting",
        "home",
        "Light external doors, parking areas and walkways; remove blind spots.",
        "moderate",
    ),
    PlanAction(
        "home_foliage",
        "home",
        "Trim shrubbery so nobody can hide in it and it does not block your view out.",
        "moderate",
    ),
    PlanAction(
        "home_cameras",
        "home",
        "Consider cameras covering doors and windows and a monitored alarm system.",
        "elevated",
        ("specific_threats", "targeted_before"),
    ),
    PlanAction(
        "home_visitors",
        "home",
        "Identify visitors before letting them in (peephole or door camera).",
        "moderate",
        ("in_person_services",),
    ),
    PlanAction(
        "home_plan",
        "home",
        "Write and practise a family emergency action plan.",
        "elevated",
    ),
    PlanAction(
        "vehicle_parking",
        "vehicle_travel",
        "Park in well-lit, staffed or camera-covered places; lock up and hide valuables.",
    ),
    PlanAction(
        "vehicle_inspect",
        "vehicle_travel",
        "Look around and inspect your vehicle before leaving home or work.",
        "moderate",
        ("dangerous_materials", "critical_infrastructure"),
    ),
    PlanAction(
        "vehicle_vary",
        "vehicle_travel",
        "Vary your routes and departure times so nobody can predict your whereabouts.",
        "elevated",
        ("specific_threats", "occupation_target"),
    ),
    PlanAction(
        "vehicle_followed",
        "vehicle_travel",
        "If followed, keep moving, lock up, call the police and drive to a police station.",
        "elevated",
    ),
    PlanAction(
        "aware_phone",
        "situational_awareness",
        "Keep your phone ready for an emergency call; stay alert, hands free.",
    ),
    PlanAction(
        "aware_checkins",
        "situational_awareness",
        "Use lone-worker check-ins whenever you work alone or visit off site.",
        "high",
        ("working_alone",),
    ),
    PlanAction(
        "aware_credentials",
        "situational_awareness",
        "Hide work badges and credentials in public; take care entering passwords.",
        "moderate",
        ("visible_affiliations", "occupation_target"),
    ),
    PlanAction(
        "aware_report",
        "situational_awareness",
        "Learn the warning signs and report suspicious activity and items at once.",
    ),
    PlanAction(
        "aware_threat_calls",
        "situational_awareness",
        "Keep the threat-call checklist by your phone: stay calm, keep the caller talking.",
        "elevated",
        ("specific_threats", "in_person_services"),
    ),
    PlanAction(
        "online_mfa",
        "online_security",
        "Use a unique strong password per account, a password manager and MFA everywhere.",
    ),
    PlanAction(
        "online_updates",
        "online_security",
        "Turn on automatic software updates; install apps only from reputable stores.",
    ),
    PlanAction(
        "online_location",
        "online_security",
        "Limit location services and review the privacy settings of your devices and apps.",
        "moderate",
    ),
    PlanAction(
        "online_social",
        "online_security",
        "Review social-media privacy and location-tagging settings; post less about work.",
        "moderate",
        ("visible_affiliations",),
    ),
    PlanAction(
        "dox_minimise",
        "doxing",
        "Avoid sharing personal information; do not accept strangers on social media.",
        "moderate",
    ),
    PlanAction(
        "dox_alerts",
        "doxing",
        "Set up alerts for your name and opt out of data-broker and people-search sites.",
        "elevated",
        ("targeted_before", "specific_threats"),
    ),
)
ACTION_IDS = frozenset(a.id for a in ACTIONS)

WARNING_SIGNS: tuple[Item, ...] = (
    Item("loitering", "People loitering without a reason around your home, workplace or vehicle."),
    Item("covert_photography", "People trying to take pictures of you covertly."),
    Item("abandoned_object", "Someone abandoned an object or package nearby."),
    Item("verbal_written_threat", "A verbal or written threat against you, your home or work."),
    Item("tampering", "Damaged or tampered systems and equipment."),
    Item("unattended_items", "Suspicious or unattended bags, boxes or concealed containers."),
    Item(
        "suspicious_questioning",
        "Suspicious questions about floor plans, entrances and exits, HVAC or water supply.",
    ),
    Item(
        "flammable_materials",
        "Unusual quantities or locations of flammable or combustible materials.",
    ),
    Item("social_media_messaging", "Social-media messages promoting ideas for attacks."),
    Item("suspicious_vehicle", "A vehicle lurking, loitering or following you."),
)
WARNING_SIGN_IDS = frozenset(i.id for i in WARNING_SIGNS)

ITEM_INDICATORS: tuple[Item, ...] = (
    Item("unexplained_wires", "Unexplainable wires or electronics."),
    Item("bomb_like_components", "Other visible bomb-like components."),
    Item("unusual_sounds", "Unusual sounds (ticking, humming)."),
    Item("vapors_odors", "Unusual vapors, mists or odors."),
    Item("hidden_placement", "Deliberately hidden or placed where it should not be."),
    Item("no_owner", "Nobody nearby owns it."),
)
ITEM_INDICATOR_IDS = frozenset(i.id for i in ITEM_INDICATORS)

THREAT_CALL_STEPS: tuple[Item, ...] = (
    Item("remain_calm", "Remain calm and do NOT hang up."),
    Item("keep_on_line", "Keep the caller on the line as long as possible."),
    Item("signal_others", "Signal or pass a note to people around you."),
    Item("write_down", "Write down the caller ID number, the exact words, the voice."),
    Item("record", "Record the call if possible and legally permissible."),
)
VOICE_TRAITS: tuple[str, ...] = (
    "calm",
    "angry",
    "excited",
    "slow",
    "rapid",
    "soft",
    "loud",
    "laughing",
    "crying",
    "normal",
    "distinct",
    "slurred",
    "nasal",
    "stutter",
    "lisp",
    "raspy",
    "deep",
    "ragged",
    "clearing_throat",
    "deep_breathing",
    "cracking_voice",
    "disguised",
    "accent",
    "familiar",
    "male",
    "female",
)
BACKGROUND_NOISES: tuple[str, ...] = (
    "street",
    "animals",
    "pa_system",
    "music",
    "house",
    "motor",
    "office",
    "factory",
    "voices",
    "clear",
    "static",
    "local",
    "long_distance",
    "booth",
)

DOXING_STEPS: tuple[Item, ...] = (
    Item("document", "Document what occurred and take screenshots for investigators."),
    Item("assess", "Determine what was exposed, how serious the threat is, and the source."),
    Item("report", "Report it to law enforcement and to every platform that published it."),
    Item(
        "lock_down",
        "Ask administrators to remove it; set accounts and privacy to the most private options.",
    ),
    Item(
        "monitor",
        "Watch for identity theft: monitor accounts, set fraud alerts, change passwords.",
    ),
)
DOXING_STEP_IDS = tuple(i.id for i in DOXING_STEPS)
EXPOSURE_KINDS: tuple[str, ...] = (
    "home_address",
    "phone",
    "email",
    "family",
    "employer",
    "vehicle",
    "financial",
    "photos",
    "credentials",
    "other",
)


def score(answers: dict[str, bool]) -> int:
    """Return the weighted number of risk factors answered yes."""
    return sum(f.weight for f in FACTORS if answers.get(f.id, False))


def level_for(answers: dict[str, bool]) -> str:
    """Return low, moderate, elevated or high for ``answers``.

    A credible specific threat together with a history of being targeted is always high.
    """
    if answers.get("specific_threats") and answers.get("targeted_before"):
        return "high"
    total = score(answers)
    if total >= 6:
        return "high"
    if total >= 4:
        return "elevated"
    if total >= 2:
        return "moderate"
    return "low"


def plan_for(answers: dict[str, bool]) -> list[PlanAction]:
    """Return the guide's actions tailored to ``answers``, in guide order."""
    level = level_for(answers)
    return [a for a in ACTIONS if a.applies(level, answers)]
