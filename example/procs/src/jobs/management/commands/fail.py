"""A scheduled job that fails, as a broken job would."""
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "fail"

    def handle(self, *args, **options):
        raise CommandError("the fail job fails, as it is meant to")
