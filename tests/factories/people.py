"""Factories for the organisation. They go through services so paths and groups are right."""

import factory

from cxculture.people import services
from cxculture.people.models import CompanyValue, Employee, Policy, Role, Team


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    external_id = factory.Sequence(lambda n: f"T{n:05d}")
    parent = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.team_create(
            name=kwargs["name"], external_id=kwargs["external_id"], parent=kwargs.get("parent")
        )


class EmployeeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Employee

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"person{n}@example.com")
    external_id = factory.Sequence(lambda n: f"E{n:06d}")
    team = factory.SubFactory(TeamFactory)
    title = "Customer service agent"
    role_family = "Support"
    location = "Leeds"
    is_front_line = True
    password = "correct horse battery staple"

    @classmethod
    def _create(cls, model_class, *args, roles=(), manages=(), **kwargs):
        employee = services.employee_create(**kwargs)
        if roles:
            services.employee_set_roles(employee=employee, roles=roles)
        for team in manages:
            services.team_set_managers(team=team, managers=[*team.managers.all(), employee])
        return employee


class CompanyValueFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CompanyValue

    name = factory.Sequence(lambda n: f"Value {n}")
    description = "What we do for customers."

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.company_value_create(**kwargs)


class PolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Policy

    name = factory.Sequence(lambda n: f"Policy {n}")
    code = factory.Sequence(lambda n: f"policy-{n}")
    description = "The rule as written."
    owner_team = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return services.policy_create(**kwargs)


__all__ = ["CompanyValueFactory", "EmployeeFactory", "PolicyFactory", "Role", "TeamFactory"]
