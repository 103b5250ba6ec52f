"""What the demo's citizens are called, where they live and what they write (app/demo_data.py
draws from it with a seeded random). French and Moroccan/Algerian names as a French town hall
meets them; requests in French, English and Arabic, written as people write them.

Emails are at example.org/.com/.net (reserved: a demo with a mail relay configured still
reaches nobody); phone numbers are drawn at random in the French mobile plan."""
from __future__ import annotations

FIRST_FR_F = ["Camille", "Léa", "Manon", "Chloé", "Emma", "Sarah", "Julie", "Isabelle", "Nathalie", "Céline",
              "Élodie", "Aurélie", "Marion", "Anne", "Catherine", "Valérie", "Sandrine", "Juliette", "Louise",
              "Margaux", "Hélène", "Brigitte"]
FIRST_FR_M = ["Thomas", "Nicolas", "Julien", "Pierre", "Antoine", "Maxime", "Alexandre", "Guillaume", "Romain",
              "Jean", "Philippe", "Laurent", "François", "Olivier", "Mathieu", "Sébastien", "Hugo", "Louis",
              "Lucas", "Benoît", "Gérard", "Michel"]
LAST_FR = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
           "Simon", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier", "Morel",
           "Girard", "André", "Mercier", "Dupont", "Lambert", "Bonnet", "Legrand", "Garnier", "Faure",
           "Rousseau", "Blanc", "Guérin", "Muller", "Henry", "Perrin", "Morin", "Clément", "Gauthier", "Fontaine",
           "Chevalier", "Robin", "Lemaire", "Barbier", "Caron", "Da Silva", "Pereira", "Nguyen"]
FIRST_MAGHREB_F = ["Fatima", "Khadija", "Aïcha", "Nadia", "Samira", "Leïla", "Yasmina", "Salma", "Imane",
                   "Meriem", "Sanaa", "Houda", "Zineb", "Amel", "Souad", "Malika", "Naïma", "Rachida", "Farida",
                   "Hanane", "Latifa", "Siham", "Kenza", "Inès", "Lina", "Nour"]
FIRST_MAGHREB_M = ["Mohamed", "Ahmed", "Youssef", "Karim", "Mehdi", "Rachid", "Hamza", "Omar", "Amine", "Bilal",
                   "Saïd", "Abdelkader", "Mustapha", "Nabil", "Hicham", "Khalid", "Samir", "Farid", "Redouane",
                   "Anis", "Walid", "Sofiane", "Yacine", "Adil", "Brahim", "Mourad"]
LAST_MAGHREB = ["El Amrani", "Benjelloun", "Alaoui", "Bennani", "Tazi", "Berrada", "Chraibi", "Idrissi",
                "El Fassi", "Ouazzani", "Bouzid", "Lahlou", "Benkirane", "Ziani", "Cherkaoui", "Belkadi", "Lamrani",
                "Naciri", "Benali", "Haddad", "Khelifi", "Boudiaf", "Belkacem", "Mansouri", "Saïdi", "Meziane",
                "Hamidi", "Bensalah", "Djebbar", "Brahimi", "Cherif", "Rahmani", "Kaci", "Aït Ahmed", "Touati",
                "Bouchareb", "Larbi", "Amrani", "Zerrouki", "Hadjadj"]

STREETS = ["rue Victor Hugo", "rue de la République", "avenue Jean Jaurès", "boulevard Gambetta", "rue Pasteur",
           "place de la Mairie", "allée des Tilleuls", "rue des Écoles", "impasse des Lilas", "chemin du Moulin",
           "rue Émile Zola", "avenue de la Gare", "rue du Général de Gaulle", "rue Jules Ferry", "rue Voltaire",
           "rue de Paris", "avenue Pablo Picasso", "rue Paul Éluard", "cité des Bosquets", "rue Lénine",
           "boulevard de la Boissière", "rue Danton", "square Jean Moulin", "rue Kléber"]
TOWNS = [("93100", "Montreuil")] * 6 + [("93170", "Bagnolet"), ("93260", "Les Lilas"), ("94300", "Vincennes")]
EMAIL_DOMAINS = ["example.org", "example.com", "example.net"]

# Requests by category: (subject, text) in French, English and Arabic. {street}: where it happens.
Texts = dict[str, tuple[str, str]]
REQUESTS: dict[str, list[Texts]] = {
    "etat_civil": [
        {"fr": ("Copie intégrale d'acte de naissance",
                "Bonjour, je souhaiterais obtenir une copie intégrale de mon acte de naissance pour un dossier "
                "de passeport. Pouvez-vous me l'envoyer par courrier ? Merci d'avance."),
         "en": ("Copy of my birth certificate",
                "Hello, I need a full copy of my birth certificate for a passport application. Could you send it "
                "to me by post? Thank you in advance."),
         "ar": ("نسخة كاملة من عقد الازدياد",
                "السلام عليكم، أرغب في الحصول على نسخة كاملة من عقد ازديادي من أجل ملف جواز السفر. هل يمكنكم "
                "إرسالها عبر البريد؟ وشكرا مسبقا.")},
        {"fr": ("Dossier de mariage",
                "Bonjour, nous souhaitons nous marier en juin à la mairie. Quels documents faut-il fournir pour "
                "le dossier et comment réserver une date ?"),
         "en": ("Getting married at the town hall",
                "Hello, my partner and I would like to get married at the town hall in June. Which documents do we "
                "need and how do we book a date?"),
         "ar": ("ملف عقد الزواج",
                "مرحبا، نرغب في عقد زواجنا بالبلدية في شهر يونيو. ما هي الوثائق المطلوبة وكيف يمكننا حجز موعد؟")},
        {"fr": ("Actes de décès",
                "Bonjour, mon père est décédé la semaine dernière. Pouvez-vous m'indiquer les démarches et "
                "m'adresser trois copies de l'acte de décès ? Merci."),
         "en": ("Death certificates",
                "Hello, my father passed away last week. Could you tell me what I need to do and send me three "
                "copies of the death certificate? Thank you."),
         "ar": ("نسخ من رسم الوفاة",
                "مرحبا، توفي والدي الأسبوع الماضي. أرجو إفادتي بالإجراءات اللازمة وإرسال ثلاث نسخ من رسم الوفاة. "
                "شكرا.")},
        {"fr": ("Livret de famille perdu",
                "Bonjour, j'ai perdu mon livret de famille pendant mon déménagement. Comment obtenir un duplicata ?"),
         "en": ("Lost family record book",
                "Hello, I lost my family record book when I moved house. How can I get a duplicate?"),
         "ar": ("ضياع الدفتر العائلي",
                "السلام عليكم، ضاع مني الدفتر العائلي أثناء الانتقال إلى مسكن جديد. كيف يمكنني الحصول على نسخة "
                "ثانية؟")},
    ],
    "urbanisme": [
        {"fr": ("Déclaration préalable pour une clôture",
                "Bonjour, je voudrais poser une clôture de 1,80 m autour de mon jardin, {street}. Faut-il une "
                "déclaration préalable, et quel formulaire remplir ?"),
         "en": ("Do I need a permit for a fence?",
                "Hello, I would like to put up a 1.8 m fence around my garden, {street}. Do I need to file a prior "
                "declaration, and which form should I use?"),
         "ar": ("تصريح مسبق لإقامة سياج",
                "مرحبا، أريد إقامة سياج بعلو 1.80 متر حول حديقتي، {street}. هل يلزمني تصريح مسبق، وما هي "
                "الاستمارة التي يجب ملؤها؟")},
        {"fr": ("Où en est mon permis de construire ?",
                "Bonjour, j'ai déposé il y a deux mois un permis de construire pour une extension de 25 m². Je "
                "n'ai pas de nouvelles : où en est l'instruction du dossier ?"),
         "en": ("Status of my building permit",
                "Hello, two months ago I applied for a building permit for a 25 m² extension and have heard nothing "
                "since. Where does my application stand?"),
         "ar": ("ما مآل طلب رخصة البناء؟",
                "السلام عليكم، أودعت منذ شهرين طلب رخصة بناء لتوسعة مساحتها 25 مترا مربعا ولم أتوصل بأي جواب. "
                "أين وصلت دراسة الملف؟")},
        {"fr": ("Travaux chez le voisin",
                "Bonjour, mon voisin {street} surélève sa maison depuis lundi et aucun panneau de permis n'est "
                "affiché. Est-ce autorisé ?"),
         "en": ("Neighbour's building work",
                "Hello, since Monday my neighbour {street} has been adding a floor to his house and no permit notice "
                "is displayed. Is this allowed?"),
         "ar": ("أشغال بناء عند الجار",
                "مرحبا، يقوم جاري {street} منذ يوم الإثنين بتعلية منزله دون تعليق أي لوحة ترخيص. هل هذا مسموح؟")},
    ],
    "voirie": [
        {"fr": ("Lampadaire en panne",
                "Bonjour, le lampadaire devant le {street} ne s'allume plus depuis une semaine. La rue est très "
                "sombre le soir, c'est dangereux pour les enfants."),
         "en": ("Street light out",
                "Hello, the street light outside {street} has not come on for a week. The street is very dark in "
                "the evening, which is dangerous for children."),
         "ar": ("عمود إنارة معطل",
                "مرحبا، عمود الإنارة أمام {street} لا يشتغل منذ أسبوع. الشارع مظلم جدا في المساء وهذا خطر على "
                "الأطفال.")},
        {"fr": ("Nid-de-poule dangereux",
                "Un gros nid-de-poule s'est formé {street}, juste avant le passage piéton. Deux cyclistes ont déjà "
                "failli tomber ce matin."),
         "en": ("Dangerous pothole",
                "A big pothole has opened up {street}, just before the pedestrian crossing. Two cyclists nearly fell "
                "this morning."),
         "ar": ("حفرة خطيرة في الطريق",
                "ظهرت حفرة كبيرة {street} قبل ممر الراجلين مباشرة. كاد راكبا دراجة أن يسقطا هذا الصباح.")},
        {"fr": ("Dépôt sauvage d'encombrants",
                "Bonjour, un matelas et des meubles cassés sont abandonnés sur le trottoir {street} depuis "
                "plusieurs jours. Pouvez-vous les faire enlever ?"),
         "en": ("Dumped furniture on the pavement",
                "Hello, a mattress and broken furniture have been left on the pavement {street} for several days. "
                "Could you have them removed?"),
         "ar": ("رمي متلاشيات على الرصيف",
                "مرحبا، تُركت مرتبة وأثاث مكسور على الرصيف {street} منذ عدة أيام. هل يمكنكم رفعها؟")},
        {"fr": ("Poubelles non ramassées",
                "Les poubelles de notre immeuble {street} n'ont pas été ramassées mardi ni jeudi. Ça commence à "
                "sentir très mauvais."),
         "en": ("Bins not collected",
                "The bins of our building {street} were not collected on Tuesday or Thursday. It is starting to "
                "smell very bad."),
         "ar": ("عدم جمع النفايات",
                "لم يتم جمع حاويات النفايات في عمارتنا {street} يوم الثلاثاء ولا يوم الخميس، والرائحة أصبحت "
                "كريهة جدا.")},
    ],
    "social": [
        {"fr": ("Aide pour les factures d'énergie",
                "Bonjour, je suis seule avec deux enfants et je n'arrive plus à payer mes factures d'électricité. "
                "Existe-t-il une aide du CCAS ? Merci de votre retour."),
         "en": ("Help with energy bills",
                "Hello, I am raising two children alone and can no longer pay my electricity bills. Is there any "
                "help from the social services? Thank you for your answer."),
         "ar": ("مساعدة في أداء فواتير الكهرباء",
                "السلام عليكم، أنا أم وحيدة مع طفلين ولم أعد قادرة على أداء فواتير الكهرباء. هل توجد مساعدة من "
                "المركز الاجتماعي؟ شكرا على ردكم.")},
        {"fr": ("Portage de repas pour ma mère",
                "Ma mère a 84 ans, elle vit seule {street} et ne peut plus faire ses courses. Comment obtenir le "
                "portage de repas à domicile ?"),
         "en": ("Meals on wheels for my mother",
                "My mother is 84, lives alone {street} and can no longer do her shopping. How can she get meals "
                "delivered at home?"),
         "ar": ("إيصال الوجبات لوالدتي",
                "والدتي تبلغ 84 سنة وتعيش وحدها {street} ولم تعد قادرة على التسوق. كيف يمكنها الاستفادة من "
                "إيصال الوجبات إلى المنزل؟")},
        {"fr": ("Demande de logement social",
                "Bonjour, j'ai déposé une demande de logement social il y a un an, nous vivons à cinq dans un "
                "deux-pièces. Pouvez-vous me dire où en est mon dossier ?"),
         "en": ("Social housing application",
                "Hello, I applied for social housing a year ago; there are five of us in a two-room flat. Can you "
                "tell me where my application stands?"),
         "ar": ("طلب سكن اجتماعي",
                "مرحبا، قدمت طلب سكن اجتماعي منذ سنة، ونعيش خمسة أفراد في شقة من غرفتين. هل يمكنكم إخباري "
                "بمآل ملفي؟")},
    ],
    "autre": [
        {"fr": ("Inscription scolaire",
                "Bonjour, nous venons d'emménager {street}. Comment inscrire notre fils en CE1 à l'école du "
                "quartier ?"),
         "en": ("School enrolment",
                "Hello, we have just moved in {street}. How do we enrol our son in year 3 at the local school?"),
         "ar": ("تسجيل مدرسي",
                "مرحبا، انتقلنا مؤخرا للسكن {street}. كيف نسجل ابننا في السنة الثالثة ابتدائي بمدرسة الحي؟")},
        {"fr": ("Portefeuille perdu au marché",
                "J'ai perdu mon portefeuille au marché samedi matin, avec ma carte d'identité. Quelqu'un l'a-t-il "
                "rapporté à la mairie ?"),
         "en": ("Wallet lost at the market",
                "I lost my wallet at the market on Saturday morning, with my ID card in it. Has anyone handed it in "
                "at the town hall?"),
         "ar": ("ضياع محفظة في السوق",
                "ضاعت مني محفظتي في السوق صباح يوم السبت وفيها بطاقة التعريف. هل سلمها أحد إلى البلدية؟")},
        {"fr": ("Location de la salle des fêtes",
                "Bonjour, est-il possible de louer la salle des fêtes pour l'anniversaire de ma fille un samedi "
                "du mois prochain ? Quels sont les tarifs ?"),
         "en": ("Renting the community hall",
                "Hello, could we rent the community hall for my daughter's birthday on a Saturday next month? "
                "What are the rates?"),
         "ar": ("كراء قاعة الحفلات",
                "مرحبا، هل يمكن كراء قاعة الحفلات البلدية لعيد ميلاد ابنتي يوم سبت من الشهر القادم؟ وما هي "
                "الأسعار؟")},
    ],
}

# A citizen writing again about the same request.
FOLLOW_UPS = {
    "fr": ["Bonjour, je me permets de vous relancer : avez-vous du nouveau concernant ma demande ?",
           "Bonjour, voici le document que vous m'avez demandé. Merci de me tenir informé(e).",
           "Merci pour votre réponse. Une dernière question : faut-il venir en personne à la mairie ?"],
    "en": ["Hello, just following up: is there any news about my request?",
           "Hello, here is the document you asked for. Please keep me posted.",
           "Thank you for your answer. One more question: do I need to come to the town hall in person?"],
    "ar": ["مرحبا، أود الاستفسار مجددا: هل من جديد بخصوص طلبي؟",
           "مرحبا، أرسل إليكم الوثيقة المطلوبة. المرجو إبقائي على اطلاع.",
           "شكرا على ردكم. سؤال أخير: هل يجب أن أحضر شخصيا إلى البلدية؟"],
}

# What an agent writes back: asking for something (the request then waits for the citizen),
# or the answer itself.
ASKS = {
    "fr": "Bonjour,\n\nNous avons bien pris en charge votre demande. Pour la traiter, pourriez-vous nous "
          "transmettre une copie de votre pièce d'identité et un justificatif de domicile récent ?\n\nMerci.",
    "en": "Hello,\n\nWe are dealing with your request. To go further, could you send us a copy of your ID and a "
          "recent proof of address?\n\nThank you.",
    "ar": "مرحبا،\n\nنحن بصدد معالجة طلبكم. لمتابعة الإجراءات، المرجو موافاتنا بنسخة من بطاقة التعريف وشهادة "
          "سكنى حديثة.\n\nشكرا.",
}
ANSWERS = {
    "fr": "Bonjour,\n\nVotre demande a été traitée : le nécessaire a été fait par nos services. N'hésitez pas à "
          "nous recontacter si besoin.\n\nBonne journée.",
    "en": "Hello,\n\nYour request has been dealt with: our services have done what was needed. Do not hesitate to "
          "contact us again if needed.\n\nHave a good day.",
    "ar": "مرحبا،\n\nتمت معالجة طلبكم وقامت مصالحنا باللازم. لا تترددوا في التواصل معنا عند الحاجة.\n\nيوما "
          "سعيدا.",
}
IN_PROGRESS = {
    "fr": "Bonjour,\n\nVotre demande est en cours de traitement par nos services. Nous revenons vers vous dès "
          "que possible.",
    "en": "Hello,\n\nYour request is being handled by our services. We will get back to you as soon as possible.",
    "ar": "مرحبا،\n\nطلبكم قيد المعالجة لدى مصالحنا. سنعود إليكم في أقرب وقت ممكن.",
}
# Agents' internal notes, in the administration's language.
NOTES = ["Appelé la personne : messagerie, je rappelle demain matin.",
         "Dossier transmis au service technique, relance prévue vendredi.",
         "Vérifié au registre : l'acte est disponible, envoi par courrier.",
         "Pièces reçues, dossier complet.",
         "Vu avec le responsable : intervention programmée la semaine prochaine.",
         "Personne déjà connue du CCAS, dossier suivi par l'assistante sociale."]
SATISFACTION_COMMENTS = {"fr": "Réponse rapide et claire, merci !", "en": "Quick and clear answer, thank you!",
                         "ar": "رد سريع وواضح، شكرا!"}
