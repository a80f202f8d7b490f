"""Revoke API tokens by id or by key prefix."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils.translation import gettext as _

from api.models import ApiToken
from api.services import api_token_revoke


class Command(BaseCommand):
    help = _("吊销接口令牌（按编号或令牌前缀）。")

    def add_arguments(self, parser):
        parser.add_argument("tokens", nargs="+", help=_("令牌编号或前缀（如 cg_AbCd12）"))

    def handle(self, *args, tokens, **options):
        for ref in tokens:
            query = Q(prefix=ref) | (Q(pk=int(ref)) if ref.isdigit() else Q())
            found = list(ApiToken.objects.filter(query))
            if len(found) != 1:
                raise CommandError(
                    _("找不到唯一的令牌“%(ref)s”（找到 %(n)d 个）。")
                    % {"ref": ref, "n": len(found)}
                )
            token = api_token_revoke(token=found[0])
            self.stdout.write(
                _("已吊销令牌 #%(id)d（%(name)s）。") % {"id": token.pk, "name": token.name}
            )
