"""`python manage.py seed_demo`: the demo organisation, safe to run again.

`--profile enterprise` (PostgreSQL only) seeds the DESIGN.md enterprise profile instead: 20,000
people in 2,000 teams, 24 closed fortnightly pulse runs and one open, about 3 million answers,
1 million recognitions and 5 million customer-outcome records, written with COPY. `--scale 0.1`
multiplies people, teams and rows (2,000 people, 200 teams) for quicker benchmark runs.

Each part (people, then each feature's history) skips itself when its data exists, so running
the command again adds only what is missing — for example after upgrading to a release with a
new feature.
"""

import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from cxculture.management.seeding.actions import seed_actions
from cxculture.management.seeding.bulk import vacuum_analyze
from cxculture.management.seeding.outcomes import seed_outcomes
from cxculture.management.seeding.people import (
    DEMO_PASSWORD,
    PROFILES,
    SIGN_INS,
    scaled,
    seed_people,
)
from cxculture.management.seeding.recognition import seed_recognition
from cxculture.management.seeding.surveys import seed_surveys
from cxculture.people.models import Team


class Command(BaseCommand):
    help = "Seed the demo organisation (300 people, 30 teams) and print the demo sign-ins."

    def add_arguments(self, parser):
        parser.add_argument("--profile", choices=sorted(PROFILES), default="demo")
        parser.add_argument(
            "--scale",
            type=float,
            default=1.0,
            help="Multiply people, teams and rows (enterprise: 0.1 gives 2,000 people).",
        )
        parser.add_argument("--seed", type=int, default=2026, help="Random seed.")

    def handle(self, *args, profile: str, scale: float, seed: int, **options):
        if scale <= 0:
            raise CommandError("--scale must be above 0.")
        chosen = scaled(PROFILES[profile], scale)
        if chosen.bulk and connection.vendor != "postgresql":
            raise CommandError(
                f"The {profile} profile needs PostgreSQL (it loads rows with COPY); this "
                f"database is {connection.vendor}. Set DATABASE_URL=postgres://..."
            )
        others = [p.root_external_id for p in PROFILES.values() if p.name != profile]
        if Team.objects.filter(external_id__in=others).exists():
            raise CommandError(
                "This database holds another seeding profile; seed an empty database instead."
            )
        rng = random.Random(seed)
        started = time.monotonic()
        org, created = seed_people(rng=rng, profile=chosen)
        verb = "Created" if created else "Found"
        self.stdout.write(
            f"{verb} {len(org.employees)} people in {len(org.teams)} teams "
            f"under {len(org.departments)} {'divisions' if chosen.bulk else 'departments'} "
            f"({time.monotonic() - started:.1f} s)."
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
        if chosen.bulk and created:
            part_started = time.monotonic()
            if vacuum_analyze():
                self.stdout.write(f"  vacuum and analyze: {time.monotonic() - part_started:.1f} s")
        self.stdout.write(f"Seeded in {time.monotonic() - started:.1f} s.\n")
        self.stdout.write(self.style.SUCCESS(f"Demo sign-ins (password for all: {DEMO_PASSWORD}):"))
        for role, (email, first, last, _) in SIGN_INS.items():
            self.stdout.write(f"  {role.label:<10} {email:<22} {first} {last}")
