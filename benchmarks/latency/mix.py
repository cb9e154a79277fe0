"""The drivers' messages of the latency run (the load run uses them too)."""

from __future__ import annotations

# Short messages written the way truck drivers type them: legal questions, service requests,
# greetings, thanks, status checks and a few complaints (a complaint opens the complaint form; the
# driver's next message then answers the form's question, as it would in real life).
MESSAGE_MIX: tuple[str, ...] = (
    # legal questions
    "首违不罚怎么规定的",
    "罚款几天内要交",
    "超限多少吨要罚款",
    "六轴车限重多少吨",
    "罚款交晚了有滞纳金吗",
    "从业资格证过期了还能跑车吗",
    "道路运输证年审怎么弄",
    "对处罚不服能申请复议吗",
    "超载扣分吗",
    "货车没有道路运输证罚多少",
    "行政复议要多长时间",
    "车货总高超过4米算超高吗",
    # service requests
    "检测站有热水吗",
    "哪里可以加热水",
    "车坏在G309上了需要救援",
    "附近哪个服务区能休息",
    "司机之家在哪",
    "有没有感冒药",
    "检测站几点上班",
    "想找个律师咨询一下",
    "需要拖车",
    "收费站附近有吃饭的地方吗",
    # greetings
    "你好",
    "您好",
    "在吗",
    "师傅好",
    "早上好",
    "有人吗",
    # thanks and goodbyes
    "谢谢",
    "谢谢你",
    "好的谢谢",
    "辛苦了",
    "再见",
    # status checks
    "我的投诉到哪了",
    "上次的投诉有结果了吗",
    "查一下进度",
    "我的案子处理了没有",
    "服务请求有人管吗",
    # complaints (open the complaint form): see COMPLAINTS
    "检测站乱收费",
    "执法人员态度太差了",
    "收费站多收了我钱",
    "运费被平台扣了没人管",
)

COMPLAINTS: frozenset[str] = frozenset(
    {"检测站乱收费", "执法人员态度太差了", "收费站多收了我钱", "运费被平台扣了没人管"}
)

# Messages that never open a form: greetings, thanks, legal questions, chit-chat.
LONG_CONVERSATION_TEXTS: tuple[str, ...] = (
    "你好",
    "首违不罚怎么规定的",
    "谢谢",
    "罚款几天内要交",
    "您好",
    "六轴车限重多少吨",
    "好的谢谢",
    "超限多少吨要罚款",
    "在吗",
    "对处罚不服能申请复议吗",
    "辛苦了",
)
