"""The console's labels in Chinese and English. A page is shown in one language, chosen
by the `lang` cookie (set by the switch in the header), else by Accept-Language."""

from __future__ import annotations

LANGUAGES = ("zh", "en")

LABELS: dict[str, tuple[str, str]] = {
    "console": ("合作伙伴控制台", "Partner console"),
    "sign_in": ("登录", "Sign in"),
    "sign_out": ("退出", "Sign out"),
    "token": ("访问令牌", "Access token"),
    "token_hint": ("粘贴 billing token create 打印的令牌", "Paste the token printed by billing token create"),
    "bad_token": ("令牌无效或已吊销", "The token is unknown or revoked"),
    "dashboard": ("客户看板", "Customer dashboard"),
    "bills": ("账单", "Bills"),
    "performance": ("业绩", "Performance"),
    "statements": ("对账单", "Statements"),
    "account": ("账户", "Account"),
    "payments": ("付款申请", "Payment applications"),
    "incentives": ("激励", "Incentives"),
    "subsidies": ("补贴", "Subsidies"),
    "resources": ("按需资源", "Resources"),
    "partner": ("合作伙伴", "Partner"),
    "period": ("账期", "Period"),
    "account_manager": ("客户经理", "Account manager"),
    "reseller": ("云经销商", "Reseller"),
    "customer": ("客户", "Customer"),
    "all": ("全部", "All"),
    "none": ("无", "none"),
    "show": ("查询", "Show"),
    "total_customers": ("客户总数", "Total customers"),
    "association_count": ("关联次数", "Associations"),
    "consuming_customers": ("本月消费客户数", "Consuming customers"),
    "new_enterprise_customers_quarter": ("本季度新拓企业客户数", "New enterprise customers this quarter"),
    "list_amount": ("目录价", "List"),
    "discount_amount": ("折扣", "Discount"),
    "payable_amount": ("应付金额", "Payable"),
    "settled_amount": ("结算金额", "Settled"),
    "rounding_off_amount": ("抹零金额", "Rounding-off"),
    "charges": ("费用笔数", "Charges"),
    "customers": ("客户数", "Customers"),
    "service_type": ("产品类型", "Service type"),
    "item_id": ("资源 / 商品", "Resource / product"),
    "lines": ("明细", "Lines"),
    "details": ("客户明细", "By customer"),
    "by_account_manager": ("按客户经理", "By account manager"),
    "by_reseller": ("按云经销商", "By reseller"),
    "settled_per_period": ("各账期结算金额", "Settled amount per period"),
    "no_bills": ("该账期没有账单", "No bills in this period"),
    "no_data": ("没有数据", "Nothing to show"),
    "scope": ("范围", "Scope"),
    "role": ("角色", "Role"),
    "forbidden": ("无权查看", "Not allowed"),
    "error": ("出错了", "Something went wrong"),
    "not_found": ("页面不存在", "No such page"),
    "choose_partner": ("请选择合作伙伴", "Choose a partner"),
    "currency": ("币种", "Currency"),
    "bill_of_scope": ("仅含归属于您范围的费用", "Only the charges attributed to your scope"),
}


def labels(language: str) -> dict[str, str]:
    index = LANGUAGES.index(language) if language in LANGUAGES else 0
    return {key: pair[index] for key, pair in LABELS.items()}


def choose_language(cookie: str | None, accept_language: str | None) -> str:
    if cookie in LANGUAGES:
        return cookie
    first = (accept_language or "").split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "zh"
