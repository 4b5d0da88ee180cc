"""Built-in checklist packs: a group default every exit inherits, and packs per position family
(sales, engineering, admin, manufacturing) and for overseas entities. Installed as ordinary
templates (editable, versioned) by `baton demo` or `baton handover install-packs`."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from baton.handover import actions
from baton.handover.models import ChecklistTemplate
from baton.org.models import LegalEntity, PositionFamily

Item = tuple[str, str, str, str, str, str, int, str, str, list[str], bool, bool]
# key, title, category, owner, receiver rule, approver, due offset (working days from the last
# working day), acceptance criteria, evidence, sub-items, blocks clearance, reusable

GROUP_DEFAULT: list[Item] = [
    (
        "work-files",
        "工作文件与资料移交",
        "knowledge",
        "leaver",
        "successor",
        "manager",
        -3,
        "所有在办事项的文件已上传到交接文档库，并附简要说明。",
        "file",
        [],
        True,
        True,
    ),
    (
        "handover-note",
        "岗位工作说明与在办事项清单",
        "knowledge",
        "leaver",
        "successor",
        "receiver",
        -5,
        "接收人确认能独立接手日常工作。",
        "checklist",
        ["在办事项清单", "常用联系人", "定期工作日历"],
        True,
        True,
    ),
    (
        "accounts",
        "系统账号回收（邮箱、OA、VPN、企业微信）",
        "it",
        "it",
        "none",
        "it",
        0,
        "所有账号已在最后工作日停用，并记录回收时间。",
        "checklist",
        ["企业邮箱", "OA", "VPN", "企业微信"],
        True,
        False,
    ),
    (
        "assets",
        "电脑与办公设备归还",
        "admin",
        "leaver",
        "none",
        "admin",
        0,
        "设备完好，资产编号与台账一致。",
        "checklist",
        ["笔记本电脑", "显示器及配件", "工牌/门禁卡"],
        True,
        False,
    ),
    (
        "expenses",
        "借款与报销结清",
        "finance",
        "finance",
        "none",
        "finance",
        -1,
        "无未结借款；在途报销已处理或转交。",
        "signoff",
        [],
        True,
        False,
    ),
]
PACKS: dict[str, tuple[str, list[Item]]] = {
    "sales": (
        "销售岗位交接清单",
        [
            (
                "customers",
                "客户档案移交（含历史记录与在途订单）",
                "customers",
                "leaver",
                "successor",
                "manager",
                -5,
                "每个客户的联系人、历史沟通、报价与在途订单均已移交。",
                "file",
                [],
                True,
                True,
            ),
            (
                "customer-confirm",
                "客户确认新对接人",
                "customers",
                "leaver",
                "successor",
                "manager",
                -2,
                "主要客户已书面确认新的对接人。",
                "external",
                [],
                True,
                False,
            ),
            (
                "crm",
                "CRM 客户归属转移与账号停用",
                "it",
                "it",
                "successor",
                "manager",
                0,
                "CRM 中客户已转给接收人，离职人账号已停用。",
                "checklist",
                ["客户归属转移给接收人", "CRM 账号停用"],
                True,
                False,
            ),
        ],
    ),
    "engineering": (
        "研发岗位交接清单",
        [
            (
                "repositories",
                "代码仓库与权限移交",
                "knowledge",
                "leaver",
                "successor",
                "manager",
                -5,
                "仓库清单、未合并改动的处理与部署说明齐全。",
                "checklist",
                ["仓库清单与说明", "分支与未合并改动已处理", "CI/CD 与部署说明"],
                True,
                True,
            ),
            (
                "project-docs",
                "项目文档（需求、设计、测试报告）",
                "knowledge",
                "leaver",
                "successor",
                "receiver",
                -3,
                "需求、设计与测试报告为最新版本。",
                "file",
                [],
                True,
                True,
            ),
            (
                "credentials",
                "服务器凭据轮换与密钥吊销",
                "it",
                "it",
                "none",
                "it",
                0,
                "离职人知晓的共享凭据均已轮换。",
                "checklist",
                ["服务器密码轮换", "API 密钥吊销", "个人 SSH 公钥移除"],
                True,
                False,
            ),
            (
                "contacts",
                "对接人通讯录",
                "knowledge",
                "leaver",
                "successor",
                "receiver",
                -3,
                "内外部对接人及其职责已列明。",
                "file",
                [],
                False,
                True,
            ),
        ],
    ),
    "admin": (
        "职能岗位交接清单",
        [
            (
                "office-keys",
                "钥匙、工牌与打印机权限",
                "admin",
                "leaver",
                "none",
                "admin",
                0,
                "钥匙与工牌已归还，打印机权限已取消。",
                "checklist",
                ["办公室钥匙", "工牌", "打印机卡"],
                True,
                False,
            ),
            (
                "reimbursements",
                "待报销单据处理",
                "finance",
                "leaver",
                "none",
                "finance",
                -2,
                "在途报销单据已提交或转交。",
                "file",
                [],
                True,
                False,
            ),
        ],
    ),
    "manufacturing": (
        "生产岗位交接清单",
        [
            (
                "equipment",
                "设备与工装交接",
                "business",
                "leaver",
                "successor",
                "manager",
                -3,
                "设备清单核对无误，工装夹具齐全。",
                "checklist",
                ["设备清单核对", "工装夹具", "安全操作说明"],
                True,
                False,
            ),
            (
                "maintenance",
                "设备维护保养记录",
                "knowledge",
                "leaver",
                "successor",
                "receiver",
                -3,
                "近一年的维护记录完整。",
                "file",
                [],
                True,
                True,
            ),
            (
                "drawings",
                "工艺图纸与作业指导书",
                "knowledge",
                "leaver",
                "successor",
                "manager",
                -3,
                "图纸与作业指导书为受控最新版。",
                "file",
                [],
                True,
                True,
            ),
        ],
    ),
}
OVERSEAS: tuple[str, list[Item]] = (
    "海外员工交接清单",
    [
        (
            "visa",
            "签证与工作许可注销",
            "overseas",
            "hr",
            "none",
            "hr",
            5,
            "签证/工作许可已按当地规定注销或转移。",
            "file",
            [],
            True,
            False,
        ),
        (
            "overseas-assets",
            "海外资产归还",
            "overseas",
            "leaver",
            "none",
            "admin",
            0,
            "海外资产已归还或办理转移。",
            "checklist",
            ["设备", "住房/车辆", "当地银行/公司卡"],
            True,
            False,
        ),
    ],
)


def _item_data(it: Item, n: int) -> dict[str, Any]:
    (
        _key,
        title,
        category,
        owner,
        receiver,
        approver,
        offset,
        criteria,
        evidence,
        subs,
        blocks,
        reusable,
    ) = it
    return {
        "title": title,
        "category": category,
        "owner_role": owner,
        "receiver_rule": receiver,
        "approver_role": approver,
        "due_offset": offset,
        "acceptance_criteria": criteria,
        "evidence_kind": evidence,
        "sub_items": subs,
        "blocks_clearance": blocks,
        "reusable": reusable,
        "sort": n,
    }


def _template(
    name: str, items: list[Item], *, acting_user: Any, **binding: Any
) -> ChecklistTemplate:
    template = actions.create_template({"name": name, **binding}, acting_user=acting_user)
    base = 100 if binding.get("parent_id") else 0
    for n, it in enumerate(items):
        actions.save_template_item(
            template, it[0], _item_data(it, base + n), acting_user=acting_user
        )
    actions.publish_template(template, acting_user=acting_user, note="built-in pack")
    return template


@transaction.atomic
def install(*, acting_user: Any) -> list[ChecklistTemplate]:
    """Create and publish the built-in packs (once)."""
    existing = ChecklistTemplate.objects.filter(name="集团通用交接清单").first()
    if existing is not None:
        return []
    root = _template("集团通用交接清单", GROUP_DEFAULT, acting_user=acting_user)
    made = [root]
    for family in PositionFamily.objects.filter(code__in=PACKS):
        name, items = PACKS[family.code]
        made.append(
            _template(
                name,
                items,
                acting_user=acting_user,
                parent_id=root.pk,
                position_family_id=family.pk,
            )
        )
    for entity in LegalEntity.objects.exclude(jurisdiction="CN"):
        name, items = OVERSEAS
        made.append(
            _template(
                f"{name} · {entity.name}",
                items,
                acting_user=acting_user,
                parent_id=root.pk,
                legal_entity_id=entity.pk,
            )
        )
    return made
