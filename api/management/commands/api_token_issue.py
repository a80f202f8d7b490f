"""Issue an API token for a user and print its key (shown only this once)."""

import datetime as dt

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.translation import gettext as _

from api.services import api_token_issue


class Command(BaseCommand):
    help = _("为用户签发接口令牌并打印令牌（只显示这一次）。")

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", required=True, help=_("令牌用途，如“区信访局对接平台”"))
        parser.add_argument("--days", type=int, default=None, help=_("有效天数；缺省为不过期"))

    def handle(self, *args, username, name, days, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(_("用户“%(username)s”不存在。") % {"username": username})
        if not user.is_active:
            raise CommandError(
                _("用户“%(username)s”已停用，不能签发令牌。") % {"username": username}
            )
        if not name.strip():
            raise CommandError(_("请用 --name 说明令牌用途。"))
        if days is not None and days < 1:
            raise CommandError(_("--days 必须是正整数。"))
        expires_at = None if days is None else timezone.now() + dt.timedelta(days=days)
        token, key = api_token_issue(user=user, name=name.strip(), expires_at=expires_at)
        self.stderr.write(
            _("已为 %(username)s 签发令牌 #%(id)d（%(name)s）。令牌只显示这一次：")
            % {"username": username, "id": token.pk, "name": token.name}
        )
        self.stdout.write(key)
