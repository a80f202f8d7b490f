"""Template filters for masked personal data (full values only via the logged reveal page)."""

from django import template

from petitions.masking import mask_id_number, mask_phone

register = template.Library()
register.filter("mask_phone", mask_phone)
register.filter("mask_id", mask_id_number)
