"""`python manage.py seed_demo`: the demo organisation, safe to run again.

Each part (people, then each feature's history) skips itself when its data exists, so running
the command again adds only what is missing — for example after upgrading to a release with a
new feature.
"""

import random
import time

from django.core.management.base import BaseCommand

from cxculture.management.seeding.actions import seed_actions
from cxculture.management.seeding.outcomes import seed_outcomes
from cxculture.management.seeding.people import DEMO_PASSWORD, SIGN_INS, seed_people
from cxculture.management.seeding.recognition import seed_recognition
from cxculture.management.seeding.surveys import seed_surveys


class Command(BaseCommand):
    help = "Seed the demo organisation (300 people, 30 teams) and print the demo sign-ins."

    def add_arguments(self, parser):
        parser.add_argument("--profile", choices=["demo"], default="demo")
        parser.add_argument("--seed", type=int, default=2026, help="Random seed.")

    def handle(self, *args, profile: str, seed: int, **options):
        rng = random.Random(seed)
        started = time.monotonic()
        org, created = seed_people(rng=rng)
        verb = "Created" if created else "Found"
        self.stdout.write(
            f"{verb} {len(org.employees)} people in {len(org.teams)} teams "
            f"under {len(org.departments)} departments."
        )
        # Each part skips itself when its data exists; all draw on the teams' latent culture.
        for label, seed_part in (
            ("survey history", seed_surveys),
            ("recognition, rewards and exceptions", seed_recognition),
            ("customer outcomes", seed_outcomes),
            ("actions", seed_actions),
        ):
            part_started = time.monotonic()
            seed_part(org)
            self.stdout.write(f"  {label}: {time.monotonic() - part_started:.1f} s")
        self.stdout.write(f"Seeded in {time.monotonic() - started:.1f} s.\n")
        self.stdout.write(self.style.SUCCESS(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):"))
        for role, (email, first, last, _) in SIGN_INS.items():
            self.stdout.write(f"  {role.label:<10} {email:<22} {first} {last}")
