"""The templates a fresh install answers citizens with: every step, in French, English and Arabic,
by email and SMS, and by letter for the acknowledgement and the resolution.

House style: polite and human, the reference always there, one thing asked at a time. French
SMS stay in GSM-7 (é è à ù are in it; ê â ç î ô û « » and the curly apostrophe are not), so
160 characters to a segment instead of 70; every SMS fits in two segments on the longest sample
(tests/replies/test_templates.py validates each one as a supervisor's save would).
"""
from __future__ import annotations

# (step, channel, language): (subject, body, html)
Texts = dict[tuple[str, str, str], tuple[str, str, str | None]]

_FR_SIGN = "Cordialement,\n{{ agent.signature or service.name }}\n"
_EN_SIGN = "Kind regards,\n{{ agent.signature or service.name }}\n"
_AR_SIGN = "مع خالص التحيات،\n{{ agent.signature or service.name }}\n"
_FR_TRACK = "Vous pouvez suivre son avancement ici : {{ links.tracking }}\n\n"
_EN_TRACK = "You can follow its progress here: {{ links.tracking }}\n\n"
_AR_TRACK = "يمكنكم تتبع مراحل معالجته عبر الرابط: {{ links.tracking }}\n\n"

EMAIL: Texts = {
    # --- acknowledgement ---
    ("acknowledgement", "email", "fr"): (
        "Votre demande {{ ticket.reference }} a bien été reçue",
        "{{ citizen.salutation }},\n\n"
        "Nous avons bien reçu votre demande{% if ticket.subject %} « {{ ticket.subject }} »{% endif %}"
        "{% if ticket.category %} ({{ ticket.category }}){% endif %}.\n"
        "Elle est enregistrée sous la référence {{ ticket.reference }}"
        "{% if agent.first_name %} et confiée à {{ agent.first_name }}, qui la traitera{% else %}"
        " et sera traitée{% endif %} dans les meilleurs délais"
        "{% if ticket.due_date %}, au plus tard le {{ ticket.due_date }}{% endif %}.\n\n"
        "Pour nous écrire à son sujet, répondez simplement à ce message en gardant la référence "
        "dans l'objet.\n" + _FR_TRACK + _FR_SIGN, None),
    ("acknowledgement", "email", "en"): (
        "Your request {{ ticket.reference }} has been received",
        "{{ citizen.salutation }},\n\n"
        "We have received your request{% if ticket.subject %} \"{{ ticket.subject }}\"{% endif %}"
        "{% if ticket.category %} ({{ ticket.category }}){% endif %}.\n"
        "Its reference is {{ ticket.reference }}"
        "{% if agent.first_name %}; {{ agent.first_name }} will handle it{% endif %} as soon as possible"
        "{% if ticket.due_date %}, and by {{ ticket.due_date }} at the latest{% endif %}.\n\n"
        "To write to us about it, simply reply to this message and keep the reference in the "
        "subject.\n" + _EN_TRACK + _EN_SIGN, None),
    ("acknowledgement", "email", "ar"): (
        "تم استلام طلبكم {{ ticket.reference }}",
        "{{ citizen.salutation }}،\n\n"
        "لقد توصلنا بطلبكم{% if ticket.subject %} «{{ ticket.subject }}»{% endif %}"
        "{% if ticket.category %} ({{ ticket.category }}){% endif %}.\n"
        "تم تسجيله تحت المرجع {{ ticket.reference }} وستتم معالجته في أقرب الآجال"
        "{% if ticket.due_date %}، وفي موعد أقصاه {{ ticket.due_date }}{% endif %}.\n\n"
        "للتواصل معنا بخصوصه، يكفي الرد على هذه الرسالة مع الاحتفاظ بالمرجع في الموضوع.\n"
        + _AR_TRACK + _AR_SIGN, None),
    # --- more information needed ---
    ("more_information_needed", "email", "fr"): (
        "Votre demande {{ ticket.reference }} : une précision est nécessaire",
        "{{ citizen.salutation }},\n\n"
        "Pour avancer sur votre demande {{ ticket.reference }}, nous avons besoin d'une information "
        "ou d'un document complémentaire. {{ agent.first_name or \"L'agent en charge\" }} vous "
        "précise ci-dessous ce qui manque.\n\n"
        "Il vous suffit de répondre à ce message, en joignant si besoin le document demandé. "
        "Votre demande reste en attente jusqu'à votre réponse.\n\n" + _FR_SIGN, None),
    ("more_information_needed", "email", "en"): (
        "Your request {{ ticket.reference }}: we need a little more information",
        "{{ citizen.salutation }},\n\n"
        "To move forward with your request {{ ticket.reference }}, we need some further information "
        "or a document. {{ agent.first_name or \"The officer in charge\" }} explains below what is "
        "missing.\n\n"
        "Simply reply to this message, attaching the document if one is needed. Your request is "
        "on hold until we hear from you.\n\n" + _EN_SIGN, None),
    ("more_information_needed", "email", "ar"): (
        "طلبكم {{ ticket.reference }}: نحتاج إلى معلومات إضافية",
        "{{ citizen.salutation }}،\n\n"
        "لمواصلة معالجة طلبكم {{ ticket.reference }}، نحتاج إلى معلومة أو وثيقة إضافية، "
        "نوضح لكم أدناه ما ينقص.\n\n"
        "يكفي الرد على هذه الرسالة مع إرفاق الوثيقة المطلوبة عند الاقتضاء. "
        "سيبقى طلبكم في الانتظار إلى حين توصلنا بردكم.\n\n" + _AR_SIGN, None),
    # --- status changed ---
    ("status_changed", "email", "fr"): (
        "Votre demande {{ ticket.reference }} est {{ ticket.status }}",
        "{{ citizen.salutation }},\n\n"
        "Votre demande {{ ticket.reference }}{% if ticket.subject %} « {{ ticket.subject }} »{% endif %} "
        "est désormais {{ ticket.status }}.\n"
        "{% if ticket.due_date %}Nous prévoyons de la traiter au plus tard le {{ ticket.due_date }}.\n"
        "{% endif %}\n" + _FR_TRACK + _FR_SIGN, None),
    ("status_changed", "email", "en"): (
        "Your request {{ ticket.reference }} is now {{ ticket.status }}",
        "{{ citizen.salutation }},\n\n"
        "Your request {{ ticket.reference }}{% if ticket.subject %} \"{{ ticket.subject }}\"{% endif %} "
        "is now {{ ticket.status }}.\n"
        "{% if ticket.due_date %}We expect to complete it by {{ ticket.due_date }}.\n{% endif %}\n"
        + _EN_TRACK + _EN_SIGN, None),
    ("status_changed", "email", "ar"): (
        "طلبكم {{ ticket.reference }}: {{ ticket.status }}",
        "{{ citizen.salutation }}،\n\n"
        "نحيطكم علما بأن حالة طلبكم {{ ticket.reference }} أصبحت: {{ ticket.status }}.\n"
        "{% if ticket.due_date %}نتوقع إتمام معالجته في موعد أقصاه {{ ticket.due_date }}.\n{% endif %}\n"
        + _AR_TRACK + _AR_SIGN, None),
    # --- an agent's reply: the frame the agent writes in ---
    ("agent_reply", "email", "fr"): (
        "Re : votre demande {{ ticket.reference }}",
        "{{ citizen.salutation }},\n\n"
        "Suite à votre demande {{ ticket.reference }}, voici notre réponse.\n\n\n\n"
        "Si vous avez une question, répondez simplement à ce message.\n\n" + _FR_SIGN, None),
    ("agent_reply", "email", "en"): (
        "Re: your request {{ ticket.reference }}",
        "{{ citizen.salutation }},\n\n"
        "Following your request {{ ticket.reference }}, here is our answer.\n\n\n\n"
        "If you have any question, simply reply to this message.\n\n" + _EN_SIGN, None),
    ("agent_reply", "email", "ar"): (
        "رد: طلبكم {{ ticket.reference }}",
        "{{ citizen.salutation }}،\n\n"
        "بخصوص طلبكم {{ ticket.reference }}، إليكم ردنا.\n\n\n\n"
        "إذا كان لديكم أي سؤال، يكفي الرد على هذه الرسالة.\n\n" + _AR_SIGN, None),
    # --- resolved ---
    ("resolved", "email", "fr"): (
        "Votre demande {{ ticket.reference }} est traitée",
        "{{ citizen.salutation }},\n\n"
        "Nous avons le plaisir de vous informer que votre demande {{ ticket.reference }}"
        "{% if ticket.subject %} « {{ ticket.subject }} »{% endif %} a été traitée.\n\n"
        "Si quelque chose ne vous convient pas, répondez à ce message dans les prochains jours : "
        "votre demande sera rouverte.\n\n"
        "Merci de votre confiance.\n\n" + _FR_SIGN, None),
    ("resolved", "email", "en"): (
        "Your request {{ ticket.reference }} has been resolved",
        "{{ citizen.salutation }},\n\n"
        "We are pleased to let you know that your request {{ ticket.reference }}"
        "{% if ticket.subject %} \"{{ ticket.subject }}\"{% endif %} has been resolved.\n\n"
        "If anything is not right, reply to this message within the next few days and we will "
        "reopen it.\n\n"
        "Thank you for your trust.\n\n" + _EN_SIGN, None),
    ("resolved", "email", "ar"): (
        "تمت معالجة طلبكم {{ ticket.reference }}",
        "{{ citizen.salutation }}،\n\n"
        "يسعدنا إخباركم بأنه تمت معالجة طلبكم {{ ticket.reference }}"
        "{% if ticket.subject %} «{{ ticket.subject }}»{% endif %}.\n\n"
        "إذا كان هناك ما لا يرضيكم، يكفي الرد على هذه الرسالة خلال الأيام المقبلة وسنعيد فتح طلبكم.\n\n"
        "شكرا على ثقتكم.\n\n" + _AR_SIGN, None),
    # --- satisfaction survey ---
    ("satisfaction_survey", "email", "fr"): (
        "Votre avis sur le traitement de votre demande {{ ticket.reference }}",
        "{{ citizen.salutation }},\n\n"
        "Votre demande {{ ticket.reference }} a été traitée récemment. Pour nous aider à mieux vous "
        "servir, pourriez-vous nous dire ce que vous en avez pensé ?\n\n"
        "Un clic suffit, sur la note de votre choix :\n"
        "5 - très satisfait : {{ links.survey_5 }}\n"
        "4 - satisfait : {{ links.survey_4 }}\n"
        "3 - moyennement satisfait : {{ links.survey_3 }}\n"
        "2 - peu satisfait : {{ links.survey_2 }}\n"
        "1 - pas du tout satisfait : {{ links.survey_1 }}\n\n"
        "Vous pourrez ensuite ajouter un commentaire si vous le souhaitez.\n\n"
        "Merci pour le temps que vous nous accordez.\n\n" + _FR_SIGN, None),
    ("satisfaction_survey", "email", "en"): (
        "How did we do with your request {{ ticket.reference }}?",
        "{{ citizen.salutation }},\n\n"
        "Your request {{ ticket.reference }} was recently resolved. To help us serve you better, "
        "could you tell us how it went?\n\n"
        "One click is enough, on the score of your choice:\n"
        "5 - very satisfied: {{ links.survey_5 }}\n"
        "4 - satisfied: {{ links.survey_4 }}\n"
        "3 - fairly satisfied: {{ links.survey_3 }}\n"
        "2 - not very satisfied: {{ links.survey_2 }}\n"
        "1 - not at all satisfied: {{ links.survey_1 }}\n\n"
        "You can then add a comment if you wish.\n\n"
        "Thank you for your time.\n\n" + _EN_SIGN, None),
    ("satisfaction_survey", "email", "ar"): (
        "رأيكم في معالجة طلبكم {{ ticket.reference }}",
        "{{ citizen.salutation }}،\n\n"
        "تمت مؤخرا معالجة طلبكم {{ ticket.reference }}. لمساعدتنا على تحسين خدماتنا، "
        "هل يمكنكم إخبارنا برأيكم؟\n\n"
        "تكفي نقرة واحدة على التقييم الذي تختارونه:\n"
        "5 - راض جدا: {{ links.survey_5 }}\n"
        "4 - راض: {{ links.survey_4 }}\n"
        "3 - راض نوعا ما: {{ links.survey_3 }}\n"
        "2 - غير راض كثيرا: {{ links.survey_2 }}\n"
        "1 - غير راض إطلاقا: {{ links.survey_1 }}\n\n"
        "يمكنكم بعد ذلك إضافة تعليق إن رغبتم في ذلك.\n\n"
        "شكرا على وقتكم.\n\n" + _AR_SIGN, None),
    # --- opt-out confirmation (about an address, not a request) ---
    ("opt_out_confirmation", "email", "fr"): (
        "Vous ne recevrez plus nos messages",
        "Madame, Monsieur,\n\n"
        "Votre demande a bien été prise en compte : {{ service.name }} ne vous enverra plus de "
        "messages automatiques à cette adresse.\n\n"
        "Vous pouvez toujours nous écrire, ou déposer une demande sur {{ links.request }}.\n\n"
        "Cordialement,\n{{ service.name }}\n", None),
    ("opt_out_confirmation", "email", "en"): (
        "You will no longer receive our messages",
        "Dear Sir or Madam,\n\n"
        "Your choice has been recorded: {{ service.name }} will no longer send automatic messages "
        "to this address.\n\n"
        "You can still write to us, or make a request at {{ links.request }}.\n\n"
        "Kind regards,\n{{ service.name }}\n", None),
    ("opt_out_confirmation", "email", "ar"): (
        "لن تتوصلوا برسائلنا بعد الآن",
        "سيدتي، سيدي،\n\n"
        "تم تسجيل اختياركم: لن يرسل {{ service.name }} بعد الآن رسائل تلقائية إلى هذا العنوان.\n\n"
        "يمكنكم دائما مراسلتنا أو تقديم طلب عبر {{ links.request }}.\n\n"
        "مع خالص التحيات،\n{{ service.name }}\n", None),
    # --- help ---
    ("help", "email", "fr"): (
        "Comment nous joindre",
        "Madame, Monsieur,\n\n"
        "Pour toute demande, écrivez-nous simplement à cette adresse ou remplissez le formulaire "
        "en ligne : {{ links.request }}\n"
        "Si vous avez déjà une demande en cours, indiquez sa référence (GRU-...) dans l'objet de "
        "votre message.\n\n"
        "Cordialement,\n{{ service.name }}\n", None),
    ("help", "email", "en"): (
        "How to reach us",
        "Dear Sir or Madam,\n\n"
        "For any request, simply write to this address or fill in the online form: "
        "{{ links.request }}\n"
        "If you already have a request in progress, give its reference (GRU-...) in the subject of "
        "your message.\n\n"
        "Kind regards,\n{{ service.name }}\n", None),
    ("help", "email", "ar"): (
        "كيف تتواصلون معنا",
        "سيدتي، سيدي،\n\n"
        "لتقديم أي طلب، يكفي مراسلتنا على هذا العنوان أو ملء الاستمارة عبر الإنترنت: "
        "{{ links.request }}\n"
        "إذا كان لديكم طلب قيد المعالجة، اذكروا مرجعه (GRU-...) في موضوع رسالتكم.\n\n"
        "مع خالص التحيات،\n{{ service.name }}\n", None),
}

SMS: Texts = {
    # SMS carry the short reference (2026-42), which SMS threading finds in a reply.
    ("acknowledgement", "sms", "fr"): ("", "{{ service.name }} : demande enregistrée, réf. "
                                           "{{ ticket.short_reference }}. Répondez à ce SMS pour la compléter.", None),
    ("acknowledgement", "sms", "en"): ("", "{{ service.name }}: request received, ref. {{ ticket.short_reference }}. "
                                           "Reply to this SMS to add to it.", None),
    ("acknowledgement", "sms", "ar"): ("", "{{ service.name }}: تم استلام طلبكم، المرجع "
                                           "{{ ticket.short_reference }}. ردوا على هذه الرسالة لإضافة معلومات.", None),
    ("more_information_needed", "sms", "fr"): (
        "", "{{ service.name }}, réf. {{ ticket.short_reference }} : il nous manque une information pour "
            "traiter votre demande. Merci de répondre à ce SMS.", None),
    ("more_information_needed", "sms", "en"): (
        "", "{{ service.name }}, ref. {{ ticket.short_reference }}: we need a little more information to "
            "handle your request. Please reply to this SMS.", None),
    ("more_information_needed", "sms", "ar"): (
        "", "{{ service.name }}، المرجع {{ ticket.short_reference }}: نحتاج إلى معلومة إضافية. "
            "المرجو الرد على هذه الرسالة.", None),
    ("status_changed", "sms", "fr"): (
        "", "{{ service.name }}, réf. {{ ticket.short_reference }} : votre demande est désormais "
            "{{ ticket.status }}.", None),
    ("status_changed", "sms", "en"): (
        "", "{{ service.name }}, ref. {{ ticket.short_reference }}: your request is now "
            "{{ ticket.status }}.", None),
    ("status_changed", "sms", "ar"): (
        "", "{{ service.name }}، المرجع {{ ticket.short_reference }}: حالة طلبكم الآن {{ ticket.status }}.",
        None),
    ("agent_reply", "sms", "fr"): ("", "{{ service.name }}, réf. {{ ticket.short_reference }} : ", None),
    ("agent_reply", "sms", "en"): ("", "{{ service.name }}, ref. {{ ticket.short_reference }}: ", None),
    ("agent_reply", "sms", "ar"): ("", "{{ service.name }}، المرجع {{ ticket.short_reference }}: ", None),
    ("resolved", "sms", "fr"): (
        "", "{{ service.name }} : votre demande réf. {{ ticket.short_reference }} est traitée. "
            "Un souci ? Répondez à ce SMS. Merci de votre confiance.", None),
    ("resolved", "sms", "en"): (
        "", "{{ service.name }}: your request ref. {{ ticket.short_reference }} has been resolved. "
            "Anything wrong? Reply to this SMS. Thank you.", None),
    ("resolved", "sms", "ar"): (
        "", "{{ service.name }}: تمت معالجة طلبكم، المرجع {{ ticket.short_reference }}. "
            "لأي ملاحظة، ردوا على هذه الرسالة. شكرا.", None),
    ("satisfaction_survey", "sms", "fr"): (
        "", "{{ service.name }}, réf. {{ ticket.short_reference }} : votre avis compte. Quelle note "
            "donnez-vous à notre réponse ? Répondez de 1 (pas satisfait) à 5 (très satisfait).", None),
    ("satisfaction_survey", "sms", "en"): (
        "", "{{ service.name }}, ref. {{ ticket.short_reference }}: how satisfied are you with our answer? "
            "Reply with a score from 1 (not at all) to 5 (very).", None),
    ("satisfaction_survey", "sms", "ar"): (
        "", "{{ service.name }}، المرجع {{ ticket.short_reference }}: ما مدى رضاكم عن ردنا؟ "
            "أجيبوا برقم من 1 (غير راض) إلى 5 (راض جدا).", None),
    ("opt_out_confirmation", "sms", "fr"): (
        "", "{{ service.name }} : vous ne recevrez plus nos SMS. Pour les recevoir de nouveau, "
            "envoyez START.", None),
    ("opt_out_confirmation", "sms", "en"): (
        "", "{{ service.name }}: you will no longer receive our texts. To receive them again, "
            "send START.", None),
    ("opt_out_confirmation", "sms", "ar"): (
        "", "{{ service.name }}: لن تتوصلوا برسائلنا بعد الآن. لاستئنافها، أرسلوا START.", None),
    # The answer to an SMS "HELP" / "AIDE": about the service, on no ticket.
    ("help", "sms", "fr"): ("", "{{ service.name }} : écrivez-nous ici votre demande, ou sur {{ links.request }}. "
                                "Donnez sa réf. pour la suivre. STOP : plus de SMS.", None),
    ("help", "sms", "en"): ("", "{{ service.name }}: text us your request here, or go to {{ links.request }}. "
                                "Give its ref. to follow it up. STOP: no more SMS.", None),
    ("help", "sms", "ar"): ("", "{{ service.name }}: راسلونا هنا بطلبكم أو عبر {{ links.request }}. "
                                "اذكروا مرجع طلبكم. STOP لإيقاف الرسائل.", None),
}

_LETTER_PAGE = (
    '<!doctype html>\n<html lang="{lang}" dir="{dir}"><head><meta charset="utf-8">'
    "<title>{{{{ ticket.reference }}}}</title>\n"
    "<style>@page {{ size: A4; margin: 2.5cm }} body {{ font-family: serif; font-size: 12pt }}"
    " .head {{ margin-bottom: 2cm }} .ref {{ margin: 1cm 0 }}</style></head>\n<body>\n"
    '<div class="head"><strong>{{{{ service.name }}}}</strong><br>'
    "{{% if service.opening_hours %}}{{{{ service.opening_hours }}}}{{% endif %}}</div>\n"
    '<div class="citizen">{{{{ citizen.name or "" }}}}</div>\n'
    '<p class="ref">{ref} {{{{ ticket.reference }}}}</p>\n{paragraphs}\n'
    "<p>{{{{ agent.name or service.name }}}}</p>\n</body></html>\n"
)


def _page(lang: str, ref: str, paragraphs: list[str]) -> str:
    return _LETTER_PAGE.format(lang=lang, dir="rtl" if lang == "ar" else "ltr", ref=ref,
                               paragraphs="\n".join(f"<p>{p}</p>" for p in paragraphs))


LETTER: Texts = {
    ("acknowledgement", "letter", "fr"): (
        "Accusé de réception de votre demande {{ ticket.reference }}",
        "{{ service.name }}\n\n{{ citizen.name or '' }}\n\nRéférence : {{ ticket.reference }}\n\n"
        "{{ citizen.salutation }},\n\n"
        "Nous accusons réception de votre demande{% if ticket.subject %} « {{ ticket.subject }} »"
        "{% endif %}, enregistrée sous la référence {{ ticket.reference }}. Elle sera traitée dans les "
        "meilleurs délais{% if ticket.due_date %}, au plus tard le {{ ticket.due_date }}{% endif %}.\n\n"
        "Pour toute correspondance à son sujet, merci de rappeler cette référence.\n\n"
        "Nous vous prions d'agréer, {{ citizen.salutation }}, l'expression de nos salutations "
        "distinguées.\n\n{{ agent.name or service.name }}\n",
        _page("fr", "Référence :", [
            "{{ citizen.salutation }},",
            "Nous accusons réception de votre demande{% if ticket.subject %} « {{ ticket.subject }} »"
            "{% endif %}, enregistrée sous la référence {{ ticket.reference }}. Elle sera traitée dans les "
            "meilleurs délais{% if ticket.due_date %}, au plus tard le {{ ticket.due_date }}{% endif %}.",
            "Pour toute correspondance à son sujet, merci de rappeler cette référence.",
            "Nous vous prions d'agréer, {{ citizen.salutation }}, l'expression de nos salutations distinguées."])),
    ("acknowledgement", "letter", "en"): (
        "Acknowledgement of your request {{ ticket.reference }}",
        "{{ service.name }}\n\n{{ citizen.name or '' }}\n\nReference: {{ ticket.reference }}\n\n"
        "{{ citizen.salutation }},\n\n"
        "We acknowledge receipt of your request{% if ticket.subject %} \"{{ ticket.subject }}\"{% endif %}, "
        "registered under the reference {{ ticket.reference }}. It will be handled as soon as possible"
        "{% if ticket.due_date %}, and by {{ ticket.due_date }} at the latest{% endif %}.\n\n"
        "Please quote this reference in any correspondence about it.\n\n"
        "Yours faithfully,\n\n{{ agent.name or service.name }}\n",
        _page("en", "Reference:", [
            "{{ citizen.salutation }},",
            "We acknowledge receipt of your request{% if ticket.subject %} \"{{ ticket.subject }}\"{% endif %}, "
            "registered under the reference {{ ticket.reference }}. It will be handled as soon as possible"
            "{% if ticket.due_date %}, and by {{ ticket.due_date }} at the latest{% endif %}.",
            "Please quote this reference in any correspondence about it.",
            "Yours faithfully,"])),
    ("acknowledgement", "letter", "ar"): (
        "إشعار باستلام طلبكم {{ ticket.reference }}",
        "{{ service.name }}\n\n{{ citizen.name or '' }}\n\nالمرجع: {{ ticket.reference }}\n\n"
        "{{ citizen.salutation }}،\n\n"
        "نشعركم باستلام طلبكم{% if ticket.subject %} «{{ ticket.subject }}»{% endif %}، المسجل تحت المرجع "
        "{{ ticket.reference }}. ستتم معالجته في أقرب الآجال"
        "{% if ticket.due_date %}، وفي موعد أقصاه {{ ticket.due_date }}{% endif %}.\n\n"
        "المرجو ذكر هذا المرجع في كل مراسلة بخصوصه.\n\n"
        "وتفضلوا بقبول فائق عبارات التقدير والاحترام.\n\n{{ agent.name or service.name }}\n",
        _page("ar", "المرجع:", [
            "{{ citizen.salutation }}،",
            "نشعركم باستلام طلبكم{% if ticket.subject %} «{{ ticket.subject }}»{% endif %}، المسجل تحت المرجع "
            "{{ ticket.reference }}. ستتم معالجته في أقرب الآجال"
            "{% if ticket.due_date %}، وفي موعد أقصاه {{ ticket.due_date }}{% endif %}.",
            "المرجو ذكر هذا المرجع في كل مراسلة بخصوصه.",
            "وتفضلوا بقبول فائق عبارات التقدير والاحترام."])),
    ("resolved", "letter", "fr"): (
        "Votre demande {{ ticket.reference }} est traitée",
        "{{ service.name }}\n\n{{ citizen.name or '' }}\n\nRéférence : {{ ticket.reference }}\n\n"
        "{{ citizen.salutation }},\n\n"
        "Nous avons le plaisir de vous informer que votre demande{% if ticket.subject %} « "
        "{{ ticket.subject }} »{% endif %} a été traitée.\n\n"
        "Si une difficulté subsistait, n'hésitez pas à nous contacter en rappelant la référence "
        "{{ ticket.reference }}.\n\n"
        "Nous vous prions d'agréer, {{ citizen.salutation }}, l'expression de nos salutations "
        "distinguées.\n\n{{ agent.name or service.name }}\n",
        _page("fr", "Référence :", [
            "{{ citizen.salutation }},",
            "Nous avons le plaisir de vous informer que votre demande{% if ticket.subject %} « "
            "{{ ticket.subject }} »{% endif %} a été traitée.",
            "Si une difficulté subsistait, n'hésitez pas à nous contacter en rappelant la référence "
            "{{ ticket.reference }}.",
            "Nous vous prions d'agréer, {{ citizen.salutation }}, l'expression de nos salutations distinguées."])),
    ("resolved", "letter", "en"): (
        "Your request {{ ticket.reference }} has been resolved",
        "{{ service.name }}\n\n{{ citizen.name or '' }}\n\nReference: {{ ticket.reference }}\n\n"
        "{{ citizen.salutation }},\n\n"
        "We are pleased to inform you that your request{% if ticket.subject %} \"{{ ticket.subject }}\""
        "{% endif %} has been resolved.\n\n"
        "Should any difficulty remain, please contact us quoting the reference {{ ticket.reference }}.\n\n"
        "Yours faithfully,\n\n{{ agent.name or service.name }}\n",
        _page("en", "Reference:", [
            "{{ citizen.salutation }},",
            "We are pleased to inform you that your request{% if ticket.subject %} \"{{ ticket.subject }}\""
            "{% endif %} has been resolved.",
            "Should any difficulty remain, please contact us quoting the reference {{ ticket.reference }}.",
            "Yours faithfully,"])),
    ("resolved", "letter", "ar"): (
        "تمت معالجة طلبكم {{ ticket.reference }}",
        "{{ service.name }}\n\n{{ citizen.name or '' }}\n\nالمرجع: {{ ticket.reference }}\n\n"
        "{{ citizen.salutation }}،\n\n"
        "يسعدنا إخباركم بأنه تمت معالجة طلبكم{% if ticket.subject %} «{{ ticket.subject }}»{% endif %}.\n\n"
        "إذا استمرت أي صعوبة، لا تترددوا في الاتصال بنا مع ذكر المرجع {{ ticket.reference }}.\n\n"
        "وتفضلوا بقبول فائق عبارات التقدير والاحترام.\n\n{{ agent.name or service.name }}\n",
        _page("ar", "المرجع:", [
            "{{ citizen.salutation }}،",
            "يسعدنا إخباركم بأنه تمت معالجة طلبكم{% if ticket.subject %} «{{ ticket.subject }}»{% endif %}.",
            "إذا استمرت أي صعوبة، لا تترددوا في الاتصال بنا مع ذكر المرجع {{ ticket.reference }}.",
            "وتفضلوا بقبول فائق عبارات التقدير والاحترام."])),
}

TEMPLATES: Texts = {**EMAIL, **SMS, **LETTER}

# Ready answers for suggestions (replies.knowledge): (category slug or None, language, title,
# keywords, examples, body). The body is set into the channel's agent_reply frame, so it has no
# greeting nor signature of its own.
Answer = tuple[str | None, str, str, list[str], list[str], str]

_FR_HOURS = ("{% if service.opening_hours %}Nous vous accueillons {{ service.opening_hours }}."
             "{% else %}Nos horaires sont affichés à l'accueil et sur notre site.{% endif %}")
_EN_HOURS = ("{% if service.opening_hours %}We are open {{ service.opening_hours }}."
             "{% else %}Our opening hours are shown at the front desk and on our website.{% endif %}")
_AR_HOURS = ("{% if service.opening_hours %}نستقبلكم {{ service.opening_hours }}."
             "{% else %}مواقيت العمل معلقة في مكتب الاستقبال وعلى موقعنا.{% endif %}")

KNOWLEDGE: list[Answer] = [
    ("etat_civil", "fr", "Copie ou extrait d'acte de naissance",
     ["acte de naissance", "extrait de naissance", "copie intégrale", "naissance"],
     ["Bonjour, je voudrais une copie de mon acte de naissance", "Il me faut un extrait d'acte de naissance "
      "pour mon passeport", "Comment obtenir la copie intégrale de l'acte de naissance de mon fils ?"],
     "Vous pouvez obtenir une copie intégrale ou un extrait d'acte de naissance gratuitement. Il suffit "
     "d'indiquer le nom, les prénoms et la date de naissance de la personne, ainsi que les noms de ses "
     "parents. L'acte vous sera envoyé par courrier sous cinq jours ouvrés, ou remis à l'accueil sur "
     "présentation d'une pièce d'identité.\n" + _FR_HOURS),
    ("etat_civil", "en", "Copy of a birth certificate",
     ["birth certificate", "copy of birth certificate", "birth record"],
     ["Hello, I need a copy of my birth certificate", "How can I get my son's birth certificate?"],
     "You can get a full copy or an extract of a birth certificate free of charge. Please give the "
     "person's names, date of birth and their parents' names. We will post it to you within five working "
     "days, or you can collect it at the front desk with an identity document.\n" + _EN_HOURS),
    ("etat_civil", "ar", "نسخة من عقد الازدياد",
     ["عقد الازدياد", "شهادة الميلاد", "نسخة كاملة", "رسم الولادة"],
     ["السلام عليكم، أريد نسخة من عقد ازديادي", "كيف أحصل على شهادة ميلاد ابني؟",
      "أحتاج نسخة كاملة من رسم الولادة"],
     "يمكنكم الحصول على نسخة كاملة أو موجز من عقد الازدياد مجانا. يكفي ذكر الاسم الكامل وتاريخ الازدياد "
     "واسمي الوالدين. سنرسل لكم الوثيقة بالبريد في أجل خمسة أيام عمل، أو يمكنكم سحبها من مكتب الاستقبال "
     "بتقديم وثيقة الهوية.\n" + _AR_HOURS),
    ("voirie", "fr", "Éclairage public en panne",
     ["lampadaire", "éclairage", "panne", "lumière rue", "réverbère"],
     ["Le lampadaire de ma rue est en panne depuis une semaine", "La rue est plongée dans le noir, "
      "l'éclairage ne fonctionne plus"],
     "Merci de votre signalement : l'équipe de l'éclairage public intervient en général sous dix jours "
     "ouvrés. Si vous le pouvez, indiquez-nous le numéro inscrit sur le poteau ou l'adresse la plus proche, "
     "cela nous aide à trouver le bon lampadaire."),
    ("voirie", "en", "Street light out of order",
     ["street light", "streetlight", "lamp post", "light out"],
     ["The street light in front of my house is broken", "Our street has been dark for days"],
     "Thank you for letting us know: the street lighting team usually repairs a light within ten working "
     "days. If you can, tell us the number written on the post or the nearest address."),
    ("voirie", "ar", "عطب في الإنارة العمومية",
     ["عمود الإنارة", "الإنارة العمومية", "مصباح الشارع", "عطب"],
     ["عمود الإنارة في شارعنا معطل منذ أسبوع", "الشارع مظلم والإنارة لا تعمل"],
     "شكرا على إبلاغكم: يتدخل فريق الإنارة العمومية عادة في أجل عشرة أيام عمل. إن أمكن، أخبرونا برقم "
     "العمود أو بأقرب عنوان لتسهيل تحديد مكانه."),
    ("voirie", "fr", "Encombrants et dépôts sauvages",
     ["encombrants", "dépôt sauvage", "déchets", "ordures", "poubelles", "abandonné", "matelas", "meuble"],
     ["Des sacs d'ordures sont abandonnés au coin de la rue", "Comment me débarrasser d'un vieux canapé ?"],
     "Les encombrants sont collectés sur rendez-vous, gratuitement, une fois par mois. Pour un dépôt "
     "sauvage, nos équipes de propreté passent sous 48 heures ouvrées après votre signalement."),
    ("urbanisme", "fr", "Permis de construire : pièces à fournir",
     ["permis de construire", "déclaration préalable", "travaux", "extension", "cerfa"],
     ["Quels documents pour un permis de construire ?", "Je veux agrandir ma maison, faut-il une "
      "déclaration préalable ?"],
     "Pour une construction de plus de 20 m², un permis de construire est nécessaire ; en dessous, une "
     "déclaration préalable suffit. Le dossier comprend le formulaire Cerfa, un plan de situation, un plan "
     "de masse et des photographies du terrain. Le délai d'instruction est de deux mois pour une maison "
     "individuelle."),
    ("urbanisme", "ar", "رخصة البناء: الوثائق المطلوبة",
     ["رخصة البناء", "تصميم", "أشغال", "توسعة"],
     ["ما هي الوثائق المطلوبة لرخصة البناء؟", "أريد توسيع منزلي، هل أحتاج إلى رخصة؟"],
     "يتضمن ملف رخصة البناء المطبوع الخاص بالطلب، وتصميم الموقع، والتصميم العام، وصورا للأرض. "
     "أجل دراسة الملف شهران بالنسبة للمنزل الفردي."),
    ("social", "fr", "Rendez-vous avec l'action sociale",
     ["aide sociale", "ccas", "rendez-vous assistante sociale", "aide financière", "logement"],
     ["Je voudrais un rendez-vous avec une assistante sociale", "J'ai des difficultés pour payer mon loyer"],
     "Une conseillère de l'action sociale peut vous recevoir sur rendez-vous, en toute confidentialité. "
     "Apportez si possible vos derniers justificatifs de ressources et une pièce d'identité.\n" + _FR_HOURS),
    ("social", "ar", "موعد مع المساعدة الاجتماعية",
     ["مساعدة اجتماعية", "موعد", "مساعدة مالية", "سكن"],
     ["أريد موعدا مع المساعدة الاجتماعية", "لدي صعوبات في أداء الكراء"],
     "يمكن لمستشارة العمل الاجتماعي استقبالكم بموعد وفي سرية تامة. المرجو إحضار آخر ما يثبت مداخيلكم "
     "ووثيقة الهوية.\n" + _AR_HOURS),
    ("etat_civil", "fr", "Carte d'identité ou passeport : délai et retrait",
     ["carte d'identité", "carte nationale d'identité", "cni", "passeport", "titre d'identité"],
     ["Ma carte d'identité est-elle prête ?", "Combien de temps pour refaire un passeport ?",
      "J'ai déposé ma demande de CNI il y a un mois, où en est-elle ?"],
     "Une carte d'identité ou un passeport est généralement prêt trois à quatre semaines après le dépôt "
     "du dossier. Vous recevrez un SMS dès qu'il sera disponible ; le retrait se fait en personne, "
     "à l'accueil, avec le récépissé de dépôt et, pour un renouvellement, l'ancien titre.\n" + _FR_HOURS),
    ("etat_civil", "en", "Identity card or passport: how long, and collecting it",
     ["identity card", "id card", "passport", "renew passport"],
     ["Is my ID card ready?", "How long does it take to renew a passport?"],
     "An identity card or a passport is usually ready three to four weeks after the application. We "
     "will text you as soon as it is; please collect it in person at the front desk, with your receipt "
     "and, for a renewal, your old document.\n" + _EN_HOURS),
    ("etat_civil", "ar", "البطاقة الوطنية أو جواز السفر: الأجل والسحب",
     ["البطاقة الوطنية", "بطاقة التعريف", "جواز السفر", "تجديد الجواز"],
     ["هل بطاقتي الوطنية جاهزة؟", "كم يستغرق تجديد جواز السفر؟"],
     "تكون البطاقة الوطنية أو جواز السفر جاهزة عادة بعد ثلاثة إلى أربعة أسابيع من إيداع الملف. سنخبركم "
     "برسالة قصيرة فور جاهزيتها، ويتم السحب شخصيا من مكتب الاستقبال بتقديم وصل الإيداع، والوثيقة "
     "القديمة في حالة التجديد.\n" + _AR_HOURS),
    ("voirie", "en", "Bulky waste and fly-tipping",
     ["bulky waste", "fly-tipping", "rubbish", "dumped", "mattress", "old furniture"],
     ["Bags of rubbish have been dumped at the corner of my street", "How do I get rid of an old sofa?"],
     "Bulky items are collected free of charge, by appointment, once a month. For rubbish dumped in the "
     "street, our cleaning teams come within two working days of your report."),
    ("voirie", "ar", "المتلاشيات والرمي العشوائي للنفايات",
     ["متلاشيات", "نفايات", "أزبال", "رمي عشوائي", "أثاث قديم"],
     ["هناك أكياس أزبال مرمية في زاوية الشارع", "كيف أتخلص من أريكة قديمة؟"],
     "تجمع المتلاشيات مجانا مرة في الشهر بموعد مسبق. أما النفايات المرمية في الشارع، فتتدخل فرق النظافة "
     "في أجل يومي عمل بعد إبلاغكم."),
    ("urbanisme", "en", "Building permit: what to provide",
     ["building permit", "planning permission", "extension", "works"],
     ["Which documents do I need for a building permit?", "I want to extend my house, do I need a permit?"],
     "Building more than 20 m² needs a building permit; below that, a prior declaration is enough. The "
     "application includes the official form, a location plan, a site plan and photographs of the plot. "
     "It takes two months to examine for a private house."),
    ("social", "en", "An appointment with social services",
     ["social services", "social worker", "financial help", "housing", "rent"],
     ["I would like to see a social worker", "I am struggling to pay my rent"],
     "An adviser from social services can see you by appointment, in complete confidence. If you can, "
     "bring your latest proof of income and an identity document.\n" + _EN_HOURS),
    (None, "fr", "Horaires d'ouverture",
     ["horaires", "heures d'ouverture", "ouvert", "fermé", "samedi"],
     ["Quels sont vos horaires ?", "La mairie est-elle ouverte le samedi ?"], _FR_HOURS),
    (None, "en", "Opening hours", ["opening hours", "open", "closed", "saturday"],
     ["What are your opening hours?", "Are you open on Saturday?"], _EN_HOURS),
    (None, "ar", "مواقيت العمل", ["مواقيت", "ساعات العمل", "مفتوح", "السبت"],
     ["ما هي مواقيت العمل؟", "هل الإدارة مفتوحة يوم السبت؟"], _AR_HOURS),
]
