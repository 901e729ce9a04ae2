#!/usr/bin/env python3
"""Django's manage.py for the processes example (PYTHONPATH=src, as runapp sets it)."""
import os
import sys

from django.core.management import execute_from_command_line

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "procsite.settings")
execute_from_command_line(sys.argv)
