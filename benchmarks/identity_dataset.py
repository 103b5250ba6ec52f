"""A labelled identity-linkage set (issue 5): who in `queries.csv` is who in `reference.csv`.

`python -m benchmarks.identity_dataset OUT_DIR --people 20000 [--seed 5]` writes three CSV files
with the columns of `guichet citizens import` / `resolve` (birth dates ISO YYYY-MM-DD):

- `reference.csv`: N distinct people, external ids `P0000001`..., drawn household by household so
  that what households share in life is shared here: a surname, an address, a landline, a family
  email, a parent's mobile written on a child's record. 3 in 4 live in France (2 in 3 of them with
  French names, 1 in 3 with Moroccan names), 1 in 4 in Morocco. Names are Zipf-distributed (some
  very common, so namesakes abound); Moroccan names in several Latin transliterations (Mohamed /
  Mohammed / Muhammad, Youssef / Youcef / Yusuf, El / Al, Ou / W...), French compound names and
  particles, accents. French and Moroccan addresses and 5-digit postcodes; French (+33) and
  Moroccan (+212) phones; a NIR or a CIN for some.
- `queries.csv`: records to resolve, external ids `Q0000001`..., shuffled, of these kinds
  (shares of N, `--mix kind=share,...` to change them):
  - `duplicate` (0.40): a second record of a reference person, every phone re-written in one of
    the forms people write (06 12 34 56 78, 0612345678, +33 6..., 0033 6..., +33 (0)6...,
    06-12-..., 06.12..., +212 6..., 00212...), plus 1 to 3 of: 1-2 typos in a name, another
    transliteration, first and last names swapped, one `full_name` ("EL AMRANI Mohamed"),
    accents dropped, upper case, fields missing, a second email address, a new phone, a moved
    address, an abbreviated address, day and month of birth swapped. Each keeps at least one of
    birth date, email, phone or national id as it was: the evidence a clerk would ask for.
  - `family` (0.05): must NOT match: a relative not in the reference (spouse, child, sibling)
    sharing the reference person's surname, address and, as families do, phone and/or email,
    with another first name and birth date; 1 in 8 is a son with his father's first name.
  - `twin` (0.01): must NOT match: same surname, birth date, address and phone, another first name.
  - `namesake` (0.04): must NOT match: a person with a common first and last name of the
    reference, another birth date and city, contacts of their own.
  - `unknown` (0.10): must NOT match: people absent from the reference (namesakes by chance).
  - `walkin` (0.02): a reference person at the front desk who gives a name and a postcode (and
    city) only, or a name and a birth date of the right year but a wrong day (day and month
    swapped, or another day): no email, phone, national id or street; one name word typed with
    a typo that changes its sound skeleton (crm.names.skeleton; like every typo here it spares
    the word's first and last letters), so that for a two-word name neither the name-pair key
    nor the birth date key nor an identifier finds them, only a name sound with the postcode or
    the birth year (the `p:` and `y:` keys of crm.identity_keys). Not enough for a `match`:
    found, they should go to review. Drawn with their own random stream, after the others: the
    other queries are the same rows with or without them (`--mix walkin=0`), only their ids
    are shuffled differently.
- `truth.csv`: `query_id, reference_id` (empty: must not match), `kind`, `corruptions`.

Deterministic for a seed; no list is downloaded: the names, streets and cities are below.
"""
from __future__ import annotations

import argparse
import csv
import random
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from benchmarks.citizen_search import typo, zipf_weights
from crm.names import significant_words, skeleton

COLUMNS = ["external_id", "first_name", "last_name", "full_name", "email", "phone", "birth_date", "address",
           "postcode", "city", "national_id"]
MIX = {"duplicate": 0.40, "family": 0.05, "twin": 0.01, "namesake": 0.04, "unknown": 0.10, "walkin": 0.02}


def _groups(text: str) -> list[tuple[str, ...]]:
    """'Mohamed|Mohammed, Ahmed|Ahmad' -> [('Mohamed', 'Mohammed'), ('Ahmed', 'Ahmad')]: spellings of one name."""
    return [tuple(part.strip() for part in group.split("|")) for group in text.replace("\n", " ").split(",")
            if group.strip()]


# Most common first. French variants are the ways a hyphen or a particle gets written.
FRENCH_FIRST = _groups("""
Marie, Jean, Pierre, Michel, Nathalie, Isabelle, Philippe, Sophie, Nicolas, Catherine, Christophe, Sandrine,
Julien, Camille, Léa, Chloé, Hélène, Amélie, Thomas, Émilie, François, Aurélie, Céline, Jérôme, Stéphane,
Benoît, Manon, Inès, Gaëlle, Noémie, Loïc, Maël, Zoé, Margaux, Hugo, Lucas, Louise, Théo, Clément, Anaïs,
Mathilde, Élise, Agnès, Bérénice, Joël, Ségolène, Jean-Pierre|Jean Pierre, Jean-Claude|Jean Claude,
Marie-Claire|Marie Claire, Anne-Sophie|Anne Sophie, Jean-Baptiste|Jean Baptiste, Marie-Christine|Marie Christine,
Pierre-Yves|Pierre Yves, Jean-Luc|Jean Luc, Marie-Hélène|Marie Hélène, Jean-François|Jean François,
Alain, Patrick, Daniel, Bernard, Éric, Laurent, Frédéric, Olivier, David, Sébastien, Vincent, Guillaume,
Antoine, Maxime, Alexandre, Romain, Mathieu|Matthieu, Arnaud, Cédric, Fabrice, Thierry, Pascal, Didier,
Gérard, Jacques, André, René, Claude, Serge, Yves, Bruno, Franck, Hervé, Gilles, Dominique, Christian,
Valérie, Sylvie, Christine, Martine, Françoise, Monique, Nicole, Véronique, Brigitte, Chantal, Patricia,
Corinne, Karine|Carine, Virginie, Stéphanie, Delphine, Laetitia|Lætitia|Laëtitia, Caroline, Julie, Claire,
Pauline, Élodie, Mélanie, Audrey, Laura, Sarah|Sara, Emma, Jade, Alice, Lina, Rose, Anna, Ambre, Juliette,
Lou, Agathe, Clara, Romane, Eva, Lola, Charlotte, Victoire, Gabriel, Raphaël, Arthur, Louis, Jules, Adam,
Nathan, Enzo, Léo, Paul, Timothée, Baptiste, Quentin, Kévin|Kevin, Jérémy|Jérémie, Anthony, Florian,
Aurélien, Damien, Yannick, Gaël, Ludovic, Benjamin, Xavier, Hélèna|Héléna, Geneviève, Josiane, Odile, Solène
""")
MOROCCAN_FIRST = _groups("""
Mohamed|Mohammed|Muhammad|Mohammad|Mhamed, Fatima|Fatma|Fatimah, Ahmed|Ahmad, Youssef|Youcef|Yusuf|Yousef|Youssouf,
Khadija|Khadidja|Khadijah, Fatima-Zahra|Fatima Zahra|Fatimazahra|Fatim-Zahra, Aicha|Aïcha|Aisha|Aïsha,
Rachid|Rachide|Rashid, Hassan|Hasan, Said|Saïd|Saeed, Abdelkader|Abdel Kader|Abdelkadir, Nadia|Nadiya,
Zineb|Zaynab|Zeineb|Zainab, Meryem|Maryam|Meriem|Myriem, Hamza|Hamsa, Imane|Iman|Imene, Omar|Umar|Omer,
Karim|Kareem, Samira|Sameera, Naima|Naïma|Naema, Latifa|Latefa, Abdellah|Abdallah|Abdullah,
Mustapha|Mustafa|Moustapha, Driss|Idriss|Idris, Hicham|Hisham, Khalid|Khaled, Nabil|Nabile,
Yassine|Yacine|Yasin, Soukaina|Soukayna|Sukaina, Houda|Huda, Salma|Selma, Ilyas|Ilias|Elias,
Othmane|Otmane|Outhmane|Uthman, Amine|Amin, Ayoub|Ayyoub|Ayoube, Hajar|Hajjar|Hagar, Sanaa|Sanae|Sana,
Leila|Leïla|Layla|Laila, Loubna|Lubna, Mehdi|Mahdi, Anas|Anass, Brahim|Ibrahim, Abdelaziz|Abdel Aziz|Abdulaziz,
Abderrahim|Abderahim|Abdel Rahim|Abderrahime, Abderrahmane|Abderahmane|Abdel Rahman|Abdurrahman,
Oumaima|Umaima|Oumayma, Ouissal|Wissal|Wissale, Wafae|Wafaa|Ouafae, Jamal|Djamel|Jamel, Asmae|Asmaa|Asma,
Ghizlane|Ghizlaine, Jaouad|Jawad, Tarik|Tariq|Tarek, Zakaria|Zakariya|Zakariae, Soufiane|Sofiane|Sufyan,
Bilal|Belal, Ismail|Ismaïl|Smail, Adil|Adel, Redouane|Redwane|Ridouane, Younes|Younès|Yunus,
Abdeslam|Abdessalam|Abdelsalam, Noureddine|Nour-Eddine|Nourdine|Nureddin, Badr|Badre, Hanane|Hanan,
Bouchra|Boushra|Bushra, Karima|Kerima, Fouad|Fuad, Mourad|Murad, Aziz, Hafsa|Hafssa, Malika|Maleka,
Rachida|Rashida, Saida|Saïda, Zahra|Zohra|Zahrae, Chaimae|Chaima|Chaymae, Kaoutar|Kawtar|Kaouthar,
Souad|Suad, Ibtissam|Btissam|Ibtisam, Khaoula|Khawla, Nisrine|Nesrine, Siham|Sihame, Yasmine|Yasmina,
Rajae|Rajaa|Raja, Abdelhak|Abdelhaq, Abdelghani|Abdelghany, Abdelilah|Abdelillah, Lahcen|Lahsen,
Lhoussaine|Houssine|Lhoussine, Ali|Aly, Hamid|Hameed, Hakim|Hakeem, Mohcine|Mohsine|Mohsin, Mounir|Munir,
Nour|Nur, Aya|Aïa, Rim|Reem, Hind, Wiam|Wiame, Manal, Ikram|Ikrame, Douae|Doua, Salima|Saleema,
Abdelmajid|Abdelmadjid, Abdelhamid|Abdel Hamid, Abdelouahed|Abdelwahed, Abdelkrim|Abdelkarim, Boubker|Boubakr,
Hassane|Hassan, Mbarek|Mubarak, Miloud|Milud, Larbi|Larabi, Lahoucine|Lahoussine, Jalal|Djalal, Hatim|Hatem,
Walid|Oualid, Marouane|Marwane|Marwan, Anouar|Anwar, Oussama|Usama|Oussma, Ilham|Ilhame, Safae|Safaa,
Hasna|Hasnae, Sara|Sarah, Mouna|Muna, Amal, Fadoua|Fadwa, Najat|Najate, Touria|Thouria|Turia
""")
FRENCH_LAST = _groups("""
Martin, Bernard, Dubois, Thomas, Robert, Richard, Petit, Durand, Leroy, Moreau, Simon, Laurent,
Lefèvre|Lefevre, Michel, Garcia, David, Bertrand, Roux, Vincent, Fournier, Morel, Girard, André, Lefebvre,
Mercier, Dupont|Du Pont, Lambert, Bonnet, François, Martinez, Legrand|Le Grand, Garnier, Faure, Rousseau, Blanc,
Guérin, Muller|Müller, Henry, Roussel, Nicolas, Perrin, Morin, Mathieu, Clément, Gauthier|Gautier, Dumont,
Lopez, Fontaine, Chevalier, Robin, Le Gall|Legall, Le Goff|Legoff, Dufour, Meunier, Brun, Barbier, Arnaud,
Giraud, Renaud, Brunet, Schmitt|Schmidt, Masson, Marchand, Duval, Denis, Lemaire, Joly, Roger, Roche, Roy,
Noël, Lucas, Gaillard, Colin, Vidal, Caron, Picard, Philippe, Boyer, Aubert, Lemoine, Renard, Dumas, Lacroix,
Olivier, Philippon, Bourgeois, Pierre, Benoît, Rey, Leclerc|Leclercq, Payet, Rolland, Leclercq, Guillaume,
Lecomte, Lopes, Jean, Dupuy, Guillot, Hubert, Berger, Carpentier, Sanchez, Deschamps, Le Roux|Leroux, Louis,
Charpentier, Moulin, Royer, Fleury, Perez, Lemercier, Baron, Huet, Cousin, Hoarau, Charles, Boucher, Renault,
Collet, Fabre, Vasseur, Leblanc|Le Blanc, Leduc, Bouvier, Prévost|Prevost, Poirier, Hamon, Weber, Guillou,
Tessier, Marie, Jacquet, Bailly, Hervé, Millet, Carré, Paris, Germain, Chauvin, Laine, Boulanger, Bailleul,
Bertin, Le Bihan|Lebihan, Rivière, Pons, Pichon, Riviere, Maillard, Cordier, Gilbert, Aubry, Perrot, Gérard,
Gomez, Julien, Leray, Léger, Besson, Labbé, Collin, Texier, Langlois, Bouchet, Blanchard, Barre, Chevallier,
Rodriguez, Tanguy, Dupré|Du Pré, Delmas, Ferrand, Joubert, Lebrun|Le Brun, Lemaître|Lemaitre, De Villiers|Devilliers,
Du Bois|Dubois, De la Fontaine|Delafontaine, Le Corre, Le Floch, Le Meur, Hamel, Marty, Mallet, Dumont-Leroy,
Saint-Martin|St-Martin, Desmoulins|Des Moulins, Lagarde, Pasquier, Bouvet, Perret, Devaux, Navarro, Ollivier
""")
MOROCCAN_LAST = _groups("""
Alaoui|Alawi, El Amrani|Elamrani|El-Amrani|Al Amrani, Benjelloun|Ben Jelloun|Benjeloun,
Bennani|Benani|Ben Nani, Tazi|Tazzi, El Idrissi|Elidrissi|Idrissi|Al Idrissi, Berrada|Berada,
Cherkaoui|Cherqaoui|Charkaoui, Chraibi|Chraïbi|Chraybi, El Fassi|Elfassi|Al Fassi, Lahlou|Lahlu,
Sqalli|Skalli|Squalli, Ouazzani|Wazzani|Ouazani, Ait Ouahmane|Aït Ouahmane|Ait Wahmane,
Ait Benhaddou|Aït Benhaddou|Ait Ben Haddou, Ouali|Wali, Belhaj|Belhadj|Bel Haj, Bouzid|Bouzide,
El Mansouri|Elmansouri|Al Mansouri|Mansouri, Ziani|Zayani, Boukhari|Bukhari|El Boukhari, Haddad|Hadad,
Naciri|Nassiri|Nasiri, Filali|Filaly, Kettani|Ketani, Benkirane|Ben Kirane, Zerouali|Zeroual,
El Ouardi|Elouardi|El Wardi, Tahiri|Taheri, Rifai|Rifaï|Rifaai, Harrak|Harak, Bakkali|Bakali|El Bakkali,
Chaoui|Chawi, Daoudi|Dawdi, Jabri|Djabri, El Khatib|Elkhatib|Al Khatib, Lamrani|Lamrany, Moussaoui|Moussawi|Mousaoui,
Ouahbi|Wahbi, Raji|Radji, Saidi|Saïdi|Saydi, Talbi|Talbe, Zaki|Zakki, Hajji|Hadji, Benali|Ben Ali,
Benmoussa|Ben Moussa, Bensaid|Ben Saïd|Bensaïd, Benchekroun|Ben Chekroun, Belkadi|Bel Kadi, Bouazza|Bouaza,
El Hachimi|Elhachimi|Al Hachimi, El Yousfi|Elyoussfi|Youssfi|El Youssfi, Ouchen|Uchen, Oukili|Ukili,
Ait El Caid|Aït El Caïd, Amziane|Amzian, Azzouzi|Azouzi, Bakri|Bekri, Barkaoui|Barqaoui, Belghiti|Belghity,
Boussaid|Bousaid|Boussaïd, Chafik|Chafiq, Dahbi|Dehbi, Essaidi|Es-Saidi|Es Saïdi, Fassi Fihri|Fassi-Fihri,
Guessous|Gessous, Hamdaoui|Hamdawi, Hassani|El Hassani, Jettou|Jetou, Kabbaj|Kabaj, Karimi|Kerimi,
Laaroussi|Laroussi|El Aroussi, Lyazidi|Elyazidi, Mernissi|Mernisi, Mouline|Moulin, Naji|Nadji,
Ouarzazi|Warzazi, Rahmouni|Rahmuni, Sebti|Sabti, Slaoui|Slawi, Tazi Mezalek|Tazi-Mezalek, Touzani|Tuzani,
Yacoubi|Yaacoubi|Yakoubi, Zniber|Znibar, Aboulfath|Abou El Fath|Abulfath, Abouzaid|Abou Zaid|Abu Zaid,
Benabdallah|Ben Abdallah|Benabdellah, Benhima|Ben Hima, Bouabid|Bou Abid, Chami|Chamy, Derkaoui|Darqaoui,
El Alami|Elalami|Al Alami, El Amri|Elamri, El Ghazi|Elghazi, El Hamdaoui|Elhamdaoui, El Kadiri|Elkadiri|Kadiri,
Er-Rahmani|Errahmani|Rahmani, Ezzahraoui|Ez-Zahraoui, Gharbi|Gherbi, Hakimi|Hakimy, Hilali|El Hilali,
Iraqi|Iraki, Jamai|Jamaï, Kadiri|Qadiri, Lahrichi|Lahrishi, Maataoui|Mataoui, Mekouar|Mekwar, Naciri Bennani,
Ouchrif|Ouchrife, Oudghiri|Oudghiry, Regragui|Reguragui, Sefrioui|Sefriwi, Souiri|Sweiri, Tounsi|Tunsi,
Zemmouri|Zemouri, Amrani Joutei|Amrani-Joutei, Bouhlal|Bou Hlal, Chaibi|Chaïbi, Dinia|Diniya, Elbaz|El Baz,
Fikri|Fekri, Ghali|Ghaly, Haddaoui|Hadaoui, Idrissi Kaitouni|Idrissi-Kaitouni, Jaidi|Jaïdi, Kandil|Qandil,
Lazrak|Lazraq, Mansour|Mansur, Nejjar|Najjar|Nadjar, Ouakrim|Waqrim, Qabbaj|Kabbaj, Rguibi|Reguibi,
Semlali|Semlaly, Tber|Teber, Wahabi|Ouahabi, Yaakoubi|Yacoubi, Zouhair|Zouheir, Ait Lahcen|Aït Lahcen,
Ait Taleb|Aït Taleb, Ouhaddou|Wahaddou, Oubella|Ubella, Oumoussa|Umoussa, Bouchaib|Bouchaïb, Benomar|Ben Omar,
Ait Ali|Aït Ali, Ait Brahim|Aït Brahim, Ait Hammou|Aït Hammou, Akhannouch|Akhanouch, Alami|Alamy, Ammari|Amari,
Aouad|Awad, Arsalane|Arsalan, Azami|Azamy, Baddou|Badou, Bahraoui|Bahrawi, Bellamine|Bel Amine,
Benaissa|Ben Aissa|Benaïssa, Benbrahim|Ben Brahim, Bennis|Benis, Bensouda|Ben Souda, Bouazzaoui|Bouazaoui,
Boutaleb|Bou Taleb, Chakir|Chaker, Charif|Cherif|Chérif, Dadi|Daddi, Darif|Dariff, El Alaoui|Elalaoui,
El Bouzidi|Bouzidi, El Hajji|Elhajji, El Harti|Elharti, El Khayati|Khayati, El Ouazzani|Elouazzani,
Essafi|Es-Safi, Fakir|Faqir, Ghazi|Ghazzi, Guerraoui|Gueraoui, Hammoumi|Hamoumi, Hachimi|Hashimi,
Housni|Hosni, Jebbari|Jabbari, Kabbouri|Kabouri, Kharbouch|Kharbouche, Lahbabi|Lahbaby, Loudiyi|Loudiy,
Mezouar|Mazouar, Mouhib|Muhib, Najib|Nadjib, Ouardighi|Wardighi, Ouazzani Touhami|Ouazzani-Touhami,
Rahali|Rahhali, Sabri|Sabry, Salhi|Salehi, Sbai|Sbaï|Sebai, Tijani|Tidjani, Yamani|Yamany,
Zahraoui|Zahrawi, Zouiten|Zwiten, Oufkir|Ufkir, Outaleb|Ou Taleb, Oubaha|Ubaha, Ouchikh|Uchikh
""")

FRENCH_STREETS = """Victor Hugo, Jean Jaurès, de la République, des Lilas, Pasteur, du Général de Gaulle, de la Gare,
des Écoles, Gambetta, Voltaire, de la Paix, Jules Ferry, du Moulin, des Tilleuls, de Verdun, Carnot, Émile Zola,
de la Liberté, du Château, des Roses, Jean Moulin, Anatole France, du 8 Mai 1945, de Paris, de Lyon, Saint-Michel,
des Acacias, Paul Bert, de l'Église, Aristide Briand, des Peupliers, du Stade, Louis Pasteur, Maréchal Foch,
Alsace-Lorraine, de Bretagne, Henri Barbusse, Pablo Picasso, Marcel Pagnol, des Cerisiers, du Marché,
de la Mairie, Charles de Gaulle, Jean Mermoz, Édouard Vaillant, George Sand, Albert Camus, Molière, Racine,
des Mimosas, de la Fontaine, du Port, des Vignes, de Strasbourg, Lamartine, Condorcet""".replace("\n", " ").split(", ")
FRENCH_STREET_TYPES = [("rue", 50), ("avenue", 15), ("boulevard", 8), ("allée", 6), ("impasse", 6),
                       ("place", 4), ("chemin", 5), ("route", 3), ("quai", 2), ("cours", 1)]
FRENCH_COMPLEMENTS = ["Bât. A", "Bât. B", "Bât. C", "Esc. 2", "Résidence les Pins", "Appt 12", "Appt 3",
                      "Porte 5", "3e étage", "Résidence du Parc"]
# (city, postcodes), most populous first.
FRENCH_CITIES = [
    ("Paris", [f"750{k:02d}" for k in range(1, 21)]), ("Marseille", [f"130{k:02d}" for k in range(1, 17)]),
    ("Lyon", [f"6900{k}" for k in range(1, 10)]), ("Toulouse", ["31000", "31100", "31200", "31300", "31400"]),
    ("Nice", ["06000", "06100", "06200", "06300"]), ("Nantes", ["44000", "44100", "44200", "44300"]),
    ("Montpellier", ["34000", "34070", "34080", "34090"]), ("Strasbourg", ["67000", "67100", "67200"]),
    ("Bordeaux", ["33000", "33100", "33200", "33300", "33800"]), ("Lille", ["59000", "59160", "59260", "59800"]),
    ("Rennes", ["35000", "35200", "35700"]), ("Reims", ["51100"]), ("Saint-Étienne", ["42000", "42100"]),
    ("Le Havre", ["76600", "76610", "76620"]), ("Toulon", ["83000", "83100", "83200"]),
    ("Grenoble", ["38000", "38100"]), ("Dijon", ["21000"]), ("Angers", ["49000", "49100"]), ("Nîmes", ["30000",
    "30900"]), ("Villeurbanne", ["69100"]), ("Clermont-Ferrand", ["63000", "63100"]), ("Le Mans", ["72000", "72100"]),
    ("Aix-en-Provence", ["13090", "13100", "13290"]), ("Brest", ["29200"]), ("Tours", ["37000", "37100", "37200"]),
    ("Amiens", ["80000", "80080", "80090"]), ("Limoges", ["87000", "87100", "87280"]), ("Perpignan", ["66000",
    "66100"]), ("Metz", ["57000", "57050", "57070"]), ("Besançon", ["25000"]), ("Orléans", ["45000", "45100"]),
    ("Rouen", ["76000", "76100"]), ("Mulhouse", ["68100", "68200"]), ("Caen", ["14000"]), ("Nancy", ["54000",
    "54100"]), ("Argenteuil", ["95100"]), ("Saint-Denis", ["93200", "93210"]), ("Montreuil", ["93100"]),
    ("Roubaix", ["59100"]), ("Tourcoing", ["59200"]), ("Nanterre", ["92000"]), ("Vitry-sur-Seine", ["94400"]),
    ("Créteil", ["94000"]), ("Avignon", ["84000"]), ("Poitiers", ["86000"]), ("Aubervilliers", ["93300"]),
    ("Colombes", ["92700"]), ("Asnières-sur-Seine", ["92600"]), ("Courbevoie", ["92400"]),
    ("Mantes-la-Jolie", ["78200"]), ("Trappes", ["78190"]), ("Sarcelles", ["95200"]),
    ("Évry-Courcouronnes", ["91000"]), ("Vénissieux", ["69200"]), ("Gennevilliers", ["92230"]),
    ("Villeneuve-d'Ascq", ["59491", "59650"]), ("Aulnay-sous-Bois", ["93600"]), ("La Courneuve", ["93120"]),
]
MOROCCAN_CITIES = [
    ("Casablanca", ["20000", "20100", "20250", "20330", "20500", "20600", "20230"]), ("Rabat", ["10000", "10100",
    "10170", "10090"]), ("Fès", ["30000", "30050", "30070"]), ("Tanger", ["90000", "90060", "90090"]),
    ("Marrakech", ["40000", "40070", "40080"]), ("Salé", ["11000", "11100"]), ("Meknès", ["50000", "50050"]),
    ("Oujda", ["60000", "60050"]), ("Kénitra", ["14000"]), ("Agadir", ["80000", "80060"]),
    ("Tétouan", ["93000", "93040"]), ("Témara", ["12000"]), ("Safi", ["46000"]), ("Mohammédia", ["28800", "28810"]),
    ("Khouribga", ["25000"]), ("El Jadida", ["24000"]), ("Béni Mellal", ["23000"]), ("Nador", ["62000"]),
    ("Taza", ["35000"]), ("Settat", ["26000"]), ("Berrechid", ["26100"]), ("Khémisset", ["15000"]),
    ("Larache", ["92000"]), ("Guelmim", ["81000"]), ("Ouarzazate", ["45000"]), ("Essaouira", ["44000"]),
    ("Errachidia", ["52000"]), ("Al Hoceïma", ["32000"]),
]
MOROCCAN_QUARTERS = """Hay Mohammadi, Hay Hassani, Sidi Moumen, Aïn Sebaâ, Maârif, Hay Riad, Agdal, Youssoufia,
Takaddoum, Hay Salam, Sidi Bernoussi, Hay Nahda, Massira, Daoudiate, Guéliz, Anassi, Al Qods, Al Wahda, Al Amal,
Hay El Farah, Bourgogne, Derb Sultan, Hay Karima, Bab Ftouh, Hay Inbiat, Hay Chrifa, Lissasfa, Oulfa""".replace(
    "\n", " ").split(", ")
MOROCCAN_AVENUES = """Avenue Mohammed V, Avenue Hassan II, Boulevard Zerktouni, Boulevard Moulay Youssef, Rue Ibn Sina,
Avenue des FAR, Boulevard Abdelmoumen, Rue Allal Ben Abdellah, Avenue Moulay Ismaïl, Rue Oued Sebou,
Boulevard de la Résistance, Avenue Allal El Fassi, Boulevard Mohammed VI, Rue Ibn Battouta, Avenue Al Massira,
Rue Tarik Ibn Ziad, Boulevard Al Qods, Avenue Annakhil""".replace("\n", " ").split(", ")
DOMAINS_FR = [("gmail.com", 45), ("hotmail.fr", 12), ("yahoo.fr", 10), ("orange.fr", 10), ("free.fr", 6),
              ("outlook.fr", 6), ("laposte.net", 5), ("sfr.fr", 4), ("wanadoo.fr", 2)]
DOMAINS_MA = [("gmail.com", 60), ("hotmail.com", 15), ("yahoo.fr", 10), ("menara.ma", 5), ("outlook.com", 6),
              ("gmail.ma", 4)]
CIN_PREFIXES = ["A", "AB", "AD", "B", "BE", "BH", "BK", "BJ", "C", "CB", "CD", "D", "DA", "E", "EE", "F", "FA",
                "G", "GM", "H", "HA", "I", "IA", "J", "JB", "JC", "K", "L", "LA", "M", "N", "P", "PA", "Q", "R",
                "S", "SH", "T", "U", "UA", "V", "W", "X", "Y", "Z", "ZG"]
# Prefixes phonenumbers accepts as valid (+33 6 3x and 6 9x, +212 6 8x, are not all allocated).
FRENCH_MOBILE = ["+3360", "+3361", "+3362", "+3364", "+3365", "+3366", "+3367", "+3368"] * 2 + [
    f"+337{d}" for d in "3456789"]
MOROCCAN_MOBILE = [f"+2126{d}" for d in "012345679"] * 2 + ["+21270", "+21271", "+21276", "+21277", "+21278"]
# INSEE department of birth for a NIR, 99 + 350 for born in Morocco.
FRENCH_DEPARTMENTS = ["75", "13", "69", "31", "06", "44", "34", "67", "33", "59", "35", "93", "92", "94", "95",
                      "78", "91", "77", "38", "76", "57", "54", "62", "29", "21", "49", "30", "63", "72", "37"]


@dataclass
class Person:
    external_id: str
    first: str  # one spelling of a FRENCH_FIRST / MOROCCAN_FIRST group
    last: str
    first_group: tuple[str, ...]
    last_group: tuple[str, ...]
    birth: date
    male: bool
    moroccan_names: bool
    country: str  # FR or MA: where they live
    address: str
    postcode: str
    city: str
    phone: str | None  # E.164
    email: str | None
    national_id: str | None
    household: int = 0
    birth_country: str = "FR"

    def row(self) -> dict[str, str]:
        return {"external_id": self.external_id, "first_name": self.first, "last_name": self.last, "full_name": "",
                "email": self.email or "", "phone": self.phone or "", "birth_date": self.birth.isoformat(),
                "address": self.address, "postcode": self.postcode, "city": self.city,
                "national_id": self.national_id or ""}


@dataclass
class Query:
    row: dict[str, str]
    truth: str  # reference external id, or "" when it must not match
    kind: str
    corruptions: list[str] = field(default_factory=list)


def _choose(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


class Population:
    """Draws people household by household; every phone, email and id is unique unless shared on purpose."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()
        self.households = 0
        pools = (FRENCH_FIRST, FRENCH_LAST, MOROCCAN_FIRST, MOROCCAN_LAST, FRENCH_CITIES, MOROCCAN_CITIES)
        self.weights = {id(pool): zipf_weights(pool) for pool in pools}

    def pick(self, pool: list):
        return self.rng.choices(pool, self.weights[id(pool)])[0]

    def spelling(self, group: tuple[str, ...]) -> str:
        """Mostly the first spelling of a group, as civil registers mostly write it."""
        return group[0] if len(group) == 1 or self.rng.random() < 0.6 else self.rng.choice(group[1:])

    def unique(self, make) -> str:
        while (value := make()) in self.used:
            pass
        self.used.add(value)
        return value

    # --- contact points ---
    def mobile(self, country: str) -> str:
        rng = self.rng
        prefixes = FRENCH_MOBILE if country == "FR" else MOROCCAN_MOBILE
        return self.unique(lambda: f"{rng.choice(prefixes)}{rng.randrange(10**7):07d}")

    def landline(self, country: str, postcode: str) -> str:
        rng = self.rng
        if country == "FR":
            zone = "1" if postcode[:2] in ("75", "77", "78", "91", "92", "93", "94", "95") else rng.choice("235")
            return self.unique(lambda: f"+33{zone}{rng.choice('01234' if zone == '2' else '012345678')}"
                                       f"{rng.randrange(10**7):07d}")
        return self.unique(lambda: f"+2125{rng.choice(['22', '37'])}{rng.randrange(10**6):06d}")

    def email(self, first: str, last: str, birth: date, country: str, family: bool = False) -> str:
        rng = self.rng
        f, lst = (strip_accents(x).lower().replace(" ", "").replace("-", "").replace("'", "") for x in (first, last))
        domain = _choose(rng, DOMAINS_FR if country == "FR" else DOMAINS_MA)
        if family:
            local = rng.choice([f"famille.{lst}", f"{lst}.famille", f"fam{lst}", f"les{lst}"])
        else:
            local = rng.choice([f"{f}.{lst}", f"{f[0]}.{lst}", f"{f}{lst}", f"{lst}.{f}", f"{f}_{lst}",
                                f"{f}.{lst}{birth.year % 100:02d}", f"{f}{birth.year}", f"{lst}{f[0]}"])
        return self.unique(lambda: local + (str(rng.randrange(1, 999)) if rng.random() < 0.5 else "") + "@" + domain)

    def national_id(self, person: Person) -> str:
        rng = self.rng
        if person.birth_country == "MA" and person.country == "MA" or (person.moroccan_names and rng.random() < 0.5):
            return self.unique(lambda: rng.choice(CIN_PREFIXES) + f"{rng.randrange(10**5, 10**6):06d}")
        department, commune = (("99", "350") if person.birth_country == "MA"
                               else (rng.choice(FRENCH_DEPARTMENTS), f"{rng.randrange(1, 400):03d}"))

        def nir() -> str:
            body = (f"{1 if person.male else 2}{person.birth.year % 100:02d}{person.birth.month:02d}"
                    f"{department}{commune}{rng.randrange(1, 999):03d}")
            return f"{body}{97 - int(body) % 97:02d}"
        return self.unique(nir)

    # --- where they live ---
    def address(self, country: str) -> tuple[str, str, str]:
        rng = self.rng
        if country == "FR":
            city, postcodes = self.pick(FRENCH_CITIES)
            number = f"{rng.randrange(1, 180)}{rng.choice(['', '', '', '', '', '', ' bis', ' ter'])}"
            street = f"{number} {_choose(rng, FRENCH_STREET_TYPES)} {rng.choice(FRENCH_STREETS)}"
            if rng.random() < 0.25:
                street = f"{rng.choice(FRENCH_COMPLEMENTS)}, {street}"
            return street, rng.choice(postcodes), city
        city, postcodes = self.pick(MOROCCAN_CITIES)
        form = rng.randrange(4)
        if form == 0:
            street = f"N° {rng.randrange(1, 300)} Rue {rng.randrange(1, 80)} {rng.choice(MOROCCAN_QUARTERS)}"
        elif form == 1:
            street = f"{rng.choice(MOROCCAN_AVENUES)}, Imm {rng.randrange(1, 60)} Appt {rng.randrange(1, 30)}"
        elif form == 2:
            street = (f"Résidence Al {rng.choice(['Manar', 'Amane', 'Nour', 'Firdaous', 'Yasmine', 'Andalous'])}, "
                      f"Imm {rng.choice('ABCDEFGH')} Appt {rng.randrange(1, 40)}")
        else:
            street = f"Lot. {rng.choice(MOROCCAN_QUARTERS)} N° {rng.randrange(1, 500)}"
        return street, rng.choice(postcodes), city

    # --- people ---
    def person(self, *, moroccan_names: bool, country: str, last_group: tuple[str, ...] | None = None,
               last: str | None = None, birth: date | None = None, male: bool | None = None,
               first_group: tuple[str, ...] | None = None) -> Person:
        rng = self.rng
        first_pool, last_pool = (MOROCCAN_FIRST, MOROCCAN_LAST) if moroccan_names else (FRENCH_FIRST, FRENCH_LAST)
        first_group = first_group or self.pick(first_pool)
        last_group = last_group or self.pick(last_pool)
        birth = birth or date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 64))
        born_abroad = moroccan_names and (country == "MA" or rng.random() < 0.5)
        return Person(external_id="", first=self.spelling(first_group), last=last or self.spelling(last_group),
                      first_group=first_group, last_group=last_group, birth=birth,
                      male=rng.random() < 0.5 if male is None else male, moroccan_names=moroccan_names,
                      country=country, address="", postcode="", city="", phone=None, email=None, national_id=None,
                      birth_country="MA" if born_abroad else "FR")

    def household(self) -> list[Person]:
        """One to six people at one address: a couple, children (twins now and then), sharing contact points."""
        rng = self.rng
        self.households += 1
        country = "FR" if rng.random() < 0.75 else "MA"
        moroccan_names = country == "MA" or rng.random() < 1 / 3
        street, postcode, city = self.address(country)
        head = self.person(moroccan_names=moroccan_names, country=country)
        members = [head]
        size = rng.choices([1, 2, 3, 4, 5, 6], [35, 25, 15, 14, 7, 4])[0]
        if size >= 2 and rng.random() < 0.85:  # a partner, the same surname seven times in ten
            same = rng.random() < 0.7
            members.append(self.person(moroccan_names=moroccan_names, country=country, male=not head.male,
                                       last_group=head.last_group if same else None,
                                       last=head.last if same else None,
                                       birth=head.birth + timedelta(days=rng.randrange(-3000, 3000))))
        twins_at = rng.randrange(size) if size >= 4 and rng.random() < 0.15 else -1
        while len(members) < size:
            born = head.birth + timedelta(days=rng.randrange(365 * 20, 365 * 40))
            if born >= date(2024, 1, 1):
                break
            child = self.person(moroccan_names=moroccan_names, country=country, last_group=head.last_group,
                                last=head.last, birth=born)
            if child.male and head.male and rng.random() < 0.04:  # named after his father
                child.first, child.first_group = head.first, head.first_group
            members.append(child)
            if len(members) == twins_at + 1 and len(members) < size:
                twin = self.person(moroccan_names=moroccan_names, country=country, last_group=head.last_group,
                                   last=head.last, birth=born)
                members.append(twin)
        landline = self.landline(country, postcode) if rng.random() < 0.3 else None
        family_email = self.email("", head.last, head.birth, country, family=True) if rng.random() < 0.12 else None
        for k, member in enumerate(members):
            member.household = self.households
            member.address, member.postcode, member.city = street, postcode, city
            adult = (date(2026, 1, 1) - member.birth).days > 365 * 18
            if adult:
                member.phone = self.mobile(country) if rng.random() < 0.92 else landline
                if rng.random() < 0.82:
                    member.email = (family_email if family_email and k < 2 and rng.random() < 0.5
                                    else self.email(member.first, member.last, member.birth, country))
            else:  # a minor: a parent's phone and email, as forms get filled in
                shared = [p.phone for p in members[:2] if p.phone] + ([landline] if landline else [])
                member.phone = rng.choice(shared) if shared else None
                member.email = family_email or (head.email if rng.random() < 0.5 else None)
            if rng.random() < (0.6 if country == "MA" else 0.3):
                member.national_id = self.national_id(member)
        return members


# --- how people write things down -------------------------------------------------------------

def phone_forms(e164: str) -> list[str]:
    """The ways this number gets written. A Moroccan number is never written nationally here: read
    with a French default region, 06 12 34 56 78 is a French number."""
    if e164.startswith("+33"):
        n = e164[3:]
        pairs = " ".join(n[k:k + 2] for k in range(1, 9, 2))
        return [f"0{n[0]} {pairs}", f"0{n}", f"0{n[0]}-{pairs.replace(' ', '-')}", f"0{n[0]}.{pairs.replace(' ', '.')}",
                f"+33 {n[0]} {pairs}", e164, f"0033 {n[0]} {pairs}", f"0033{n}", f"+33 (0){n[0]} {pairs}",
                f"(+33) {n}"]
    n = e164[4:]
    pairs = " ".join(n[k:k + 2] for k in range(1, 9, 2))
    return [f"+212 {n[0]} {pairs}", e164, f"00212 {n[0]} {pairs}", f"00212{n}", f"+212 (0){n[0]} {pairs}",
            f"+212-{n[:3]}-{n[3:]}", f"(+212) {n}"]


def national_id_forms(value: str) -> list[str]:
    if value.isdigit():  # a NIR: 1 85 03 75 123 456 78
        return [value, f"{value[0]} {value[1:3]} {value[3:5]} {value[5:7]} {value[7:10]} {value[10:13]} {value[13:]}"]
    letters = value.rstrip("0123456789")
    return [value, value.lower(), f"{letters} {value[len(letters):]}", f"{letters}-{value[len(letters):]}"]


ABBREVIATIONS = [("avenue", "av."), ("Avenue", "Av."), ("boulevard", "bd"), ("Boulevard", "Bd"), ("rue ", "r. "),
                 ("Résidence", "Rés."), ("Appt", "Apt"), ("N° ", "no "), ("Bât.", "Bat"), ("allée", "all."),
                 ("impasse", "imp."), ("place", "pl."), ("Général", "Gal"), ("Saint-", "St-"), ("Imm ", "Immeuble ")]


def abbreviate(address: str, rng: random.Random) -> str:
    for long, short in ABBREVIATIONS:
        address = address.replace(long, short)
    if ", " in address and rng.random() < 0.4:  # the building or flat left out
        head, tail = address.split(", ", 1)
        address = tail if head[:1].isalpha() and not tail[:1].isalpha() else head
    return address


def misspell(name: str, rng: random.Random) -> str:
    """One or two typing errors in one word of the name (words of four letters or more)."""
    words = name.split(" ")
    long = [k for k, w in enumerate(words) if len(w) >= 4]
    if not long:
        return name
    k = rng.choice(long)
    words[k] = typo(words[k], rng)
    if rng.random() < 0.3 and len(words[k]) >= 4:
        words[k] = typo(words[k], rng)
    return " ".join(words)


def _sounds(name: str) -> set[str]:
    """The sound skeletons of a name's words, as the blocking keys read them."""
    return {skeleton(word) for word in significant_words(name)}


def resound(name: str, rng: random.Random) -> str | None:
    """One typo in one word of the name (four letters or more) that changes the word's sound
    skeleton, as 'Bennani' -> 'Bemnani'; None when no such typo was found."""
    words = name.split(" ")
    long = [k for k, w in enumerate(words) if len(w) >= 4]
    for _ in range(30):
        if not long:
            return None
        k = rng.choice(long)
        typed = typo(words[k], rng)
        if _sounds(typed) != _sounds(words[k]):
            return " ".join(words[:k] + [typed] + words[k + 1:])
    return None


# Weights of the corruptions a second record of a person gets (1 to 3 of them, plus its phone's form).
CORRUPTIONS = [("typo_first", 12), ("typo_last", 12), ("transliteration_first", 10), ("transliteration_last", 8),
               ("swapped_names", 8), ("full_name_only", 8), ("accents_dropped", 8), ("upper_case", 8),
               ("missing_fields", 14), ("second_email", 10), ("new_phone", 6), ("moved", 10),
               ("address_abbreviated", 6), ("birth_date_typo", 2)]
ORDER = [name for name, _ in CORRUPTIONS]
EVIDENCE = ("email", "phone", "birth_date", "national_id")


class QueryMaker:
    def __init__(self, population: Population, reference: list[Person]):
        self.population = population
        self.rng = population.rng
        self.by_household: dict[int, list[Person]] = {}
        for person in reference:
            self.by_household.setdefault(person.household, []).append(person)

    def _draw(self, person: Person) -> list[str]:
        rng = self.rng
        for _ in range(20):
            chosen = set()
            for _ in range(rng.choices([1, 2, 3], [35, 40, 25])[0]):
                chosen.add(_choose(rng, CORRUPTIONS))
            if "transliteration_first" in chosen and len(person.first_group) == 1:
                chosen.discard("transliteration_first")
            if "transliteration_last" in chosen and len(person.last_group) == 1:
                chosen.discard("transliteration_last")
            if chosen:
                return sorted(chosen, key=ORDER.index)
        return ["typo_last"]

    def duplicate(self, person: Person) -> Query:
        rng, original = self.rng, person.row()
        while True:
            row = dict(original)
            done: list[str] = []
            for corruption in self._draw(person):
                done.append(corruption)
                self._apply(corruption, row, person, done)
            if any(row[key] and row[key] == original[key] for key in EVIDENCE):
                break
        if row["phone"]:
            row["phone"] = rng.choice(phone_forms(row["phone"]))
        if row["national_id"]:
            row["national_id"] = rng.choice(national_id_forms(row["national_id"]))
        return Query(row, person.external_id, "duplicate", done)

    def _apply(self, corruption: str, row: dict[str, str], person: Person, done: list[str]) -> None:
        rng, population = self.rng, self.population
        if corruption == "typo_first":
            row["first_name"] = misspell(row["first_name"], rng)
        elif corruption == "typo_last":
            row["last_name"] = misspell(row["last_name"], rng)
        elif corruption == "transliteration_first":
            row["first_name"] = rng.choice([v for v in person.first_group if v != person.first] or [person.first])
        elif corruption == "transliteration_last":
            row["last_name"] = rng.choice([v for v in person.last_group if v != person.last] or [person.last])
        elif corruption == "swapped_names":
            row["first_name"], row["last_name"] = row["last_name"], row["first_name"]
        elif corruption == "full_name_only":
            first, last = row["first_name"], row["last_name"]
            row["full_name"] = rng.choice([f"{last.upper()} {first}", f"{first} {last}", f"{last} {first}"])
            row["first_name"] = row["last_name"] = ""
        elif corruption in ("accents_dropped", "upper_case"):
            change = strip_accents if corruption == "accents_dropped" else str.upper
            for key in ("first_name", "last_name", "full_name", "address", "city"):
                row[key] = change(row[key])
        elif corruption == "missing_fields":
            present = [key for key in ("email", "phone", "birth_date", "address", "national_id") if row[key]]
            for key in rng.sample(present, min(len(present), rng.choice([1, 1, 2]))):
                row[key] = ""
                if key == "address" and rng.random() < 0.5:
                    row["postcode"] = row["city"] = ""
        elif corruption == "second_email":
            row["email"] = population.email(person.first, person.last, person.birth, person.country)
        elif corruption == "new_phone":
            row["phone"] = population.mobile(person.country)
        elif corruption == "moved":
            row["address"], row["postcode"], row["city"] = population.address(
                person.country if rng.random() < 0.9 else ("MA" if person.country == "FR" else "FR"))
        elif corruption == "address_abbreviated":
            row["address"] = abbreviate(row["address"], rng)
        elif corruption == "birth_date_typo":
            born = person.birth
            if born.day <= 12 and born.day != born.month:  # 03/04 read as 04/03
                born = born.replace(day=born.month, month=born.day)
            else:  # a digit of the year
                born = born + timedelta(days=rng.choice([-365, 365]))
            row["birth_date"] = born.isoformat()

    def _other_first(self, person: Person, *, male: bool) -> tuple[tuple[str, ...], str]:
        taken = {p.first_group for p in self.by_household.get(person.household, [])}
        pool = MOROCCAN_FIRST if person.moroccan_names else FRENCH_FIRST
        while (group := self.population.pick(pool)) in taken:
            pass
        return group, self.population.spelling(group)

    def _formatted(self, row: dict[str, str]) -> dict[str, str]:
        rng = self.rng
        if row["phone"]:
            row["phone"] = rng.choice(phone_forms(row["phone"]))
        if row["national_id"]:
            row["national_id"] = rng.choice(national_id_forms(row["national_id"]))
        if rng.random() < 0.2:
            for key in ("first_name", "last_name", "address", "city"):
                row[key] = row[key].upper()
        return row

    def relative(self, person: Person, *, twin: bool = False) -> Query:
        """Someone of the person's household who is not in the reference: must not match them."""
        rng, population = self.rng, self.population
        births = {p.birth for p in self.by_household.get(person.household, [])}
        kind = "twin" if twin else rng.choices(["spouse", "child", "sibling", "junior"], [30, 30, 27, 13])[0]
        male = rng.random() < 0.5
        if kind == "junior":
            male, (group, first) = True, (person.first_group, person.first)
        else:
            group, first = self._other_first(person, male=male)
        born = person.birth
        while born in births:
            if kind == "spouse":
                born = person.birth + timedelta(days=rng.randrange(-3650, 3650))
            elif kind in ("child", "junior"):
                years = rng.randrange(20 * 365, 40 * 365)
                born = person.birth + timedelta(days=years)
                if born > date(2023, 12, 31):
                    born = person.birth - timedelta(days=years)
            elif kind == "sibling":
                born = person.birth + timedelta(days=rng.choice([-1, 1]) * rng.randrange(365, 12 * 365))
            else:
                break
        row = person.row()
        row.update(external_id="", first_name=first, birth_date=born.isoformat(), national_id="")
        if kind == "spouse" and rng.random() < 0.3:
            row["last_name"] = population.spelling(population.pick(
                MOROCCAN_LAST if person.moroccan_names else FRENCH_LAST))
        shares = rng.choice([("phone",), ("email",), ("phone", "email")] if person.email and person.phone
                            else [("phone",)] if person.phone else [("email",)] if person.email else [()])
        if "phone" not in shares:
            row["phone"] = population.mobile(person.country)
        if "email" not in shares:
            row["email"] = (population.email(first, row["last_name"], born, person.country)
                            if rng.random() < 0.7 else "")
        if rng.random() < 0.3:
            relative = replace(person, first=first, first_group=group, birth=born, male=male)
            row["national_id"] = population.national_id(relative)
        return Query(self._formatted(row), "", "twin" if twin else "family",
                     [kind, "shares " + "+".join(("address",) + shares)])

    def namesake(self, person: Person) -> Query:
        """Same first and last name as a reference person; another birth date, city and contacts."""
        rng, population = self.rng, self.population
        other = population.person(moroccan_names=person.moroccan_names, country=person.country,
                                  first_group=person.first_group, last_group=person.last_group,
                                  last=person.last)
        other.first = person.first if rng.random() < 0.7 else population.spelling(person.first_group)
        while other.birth == person.birth:
            other.birth = date(1940, 1, 1) + timedelta(days=rng.randrange(365 * 64))
        other.address, other.postcode, other.city = population.address(other.country)
        while other.city == person.city:
            other.address, other.postcode, other.city = population.address(other.country)
        other.phone = population.mobile(other.country) if rng.random() < 0.9 else None
        other.email = population.email(other.first, other.last, other.birth, other.country) if rng.random() < 0.8 \
            else None
        other.national_id = population.national_id(other) if rng.random() < 0.3 else None
        return Query(self._formatted(other.row()), "", "namesake", [])

    def unknown(self) -> Query:
        stranger = self.rng.choice(self.population.household())
        return Query(self._formatted(stranger.row()), "", "unknown", [])

    @staticmethod
    def walk_in(person: Person, rng: random.Random) -> Query:
        """Someone typed in at the front desk from what they say: a name with one word misheard
        (its sound skeleton changed) and either a postcode or a birth date of the right year,
        nothing else. Only a name sound with the postcode or the year can find them."""
        row = dict.fromkeys(COLUMNS, "")
        row["first_name"], row["last_name"] = person.first, person.last
        done = []
        for field_name in rng.sample(["first_name", "last_name"], 2):
            typed = resound(row[field_name], rng)
            if typed is not None:
                row[field_name] = typed
                done.append("typo_first" if field_name == "first_name" else "typo_last")
                break
        if rng.random() < 0.5:
            row["postcode"], row["city"] = person.postcode, person.city
            done.append("postcode_only")
        else:
            born = person.birth
            if born.day <= 12 and born.day != born.month and rng.random() < 0.5:  # 03/04 read as 04/03
                born = born.replace(day=born.month, month=born.day)
            else:  # another day of the same month
                born = born.replace(day=rng.choice([d for d in range(1, 29) if d != born.day]))
            row["birth_date"] = born.isoformat()
            done.append("birth_year_only")
        if rng.random() < 0.2:
            row["first_name"], row["last_name"] = row["first_name"].upper(), row["last_name"].upper()
        return Query(row, person.external_id, "walkin", done)


@dataclass
class Dataset:
    reference: list[Person]
    queries: list[Query]

    def reference_rows(self, rng: random.Random) -> list[dict[str, str]]:
        """As a source system exports them: phones in E.164 or as typed, national ids as typed."""
        rows = []
        for person in self.reference:
            row = person.row()
            if row["phone"] and rng.random() < 0.5:
                row["phone"] = rng.choice(phone_forms(row["phone"])[:2])
            rows.append(row)
        return rows


def reference_people(people: int, population: Population) -> list[Person]:
    reference: list[Person] = []
    while len(reference) < people:
        reference.extend(population.household())
    del reference[people:]
    for k, person in enumerate(reference, 1):
        person.external_id = f"P{k:07d}"
    return reference


def generate(people: int, seed: int = 5, mix: dict[str, float] | None = None) -> Dataset:
    """N reference people and the queries of `mix` (shares of N), deterministic for a seed."""
    mix = {**MIX, **(mix or {})}
    rng = random.Random(seed)
    population = Population(rng)
    reference = reference_people(people, population)
    maker = QueryMaker(population, reference)
    queries: list[Query] = []
    count = {kind: round(share * people) for kind, share in mix.items()}
    queries += [maker.duplicate(p) for p in rng.sample(reference, min(people, count["duplicate"]))]
    queries += [maker.relative(p) for p in rng.sample(reference, min(people, count["family"]))]
    queries += [maker.relative(p, twin=True) for p in rng.sample(reference, min(people, count["twin"]))]
    queries += [maker.namesake(p) for p in rng.sample(reference, min(people, count["namesake"]))]
    queries += [maker.unknown() for _ in range(count["unknown"])]
    walk_ins = random.Random(f"walk-in {seed}")  # their own stream: the queries above do not change
    queries += [maker.walk_in(p, walk_ins) for p in walk_ins.sample(reference, min(people, count["walkin"]))]
    rng.shuffle(queries)
    for k, query in enumerate(queries, 1):
        query.row["external_id"] = f"Q{k:07d}"
    return Dataset(reference, queries)


def write_csv(path: Path, columns: list[str], rows) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, columns)
        writer.writeheader()
        writer.writerows(rows)


def write(dataset: Dataset, folder: Path, seed: int = 5) -> dict[str, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.csv" for name in ("reference", "queries", "truth")}
    write_csv(paths["reference"], COLUMNS, dataset.reference_rows(random.Random(seed + 1)))
    write_csv(paths["queries"], COLUMNS, (q.row for q in dataset.queries))
    write_csv(paths["truth"], ["query_id", "reference_id", "kind", "corruptions"],
              ({"query_id": q.row["external_id"], "reference_id": q.truth, "kind": q.kind,
                "corruptions": ";".join(q.corruptions)} for q in dataset.queries))
    return paths


def parse_mix(text: str) -> dict[str, float]:
    mix = {}
    for part in filter(None, text.split(",")):
        kind, share = part.split("=")
        if kind not in MIX:
            raise argparse.ArgumentTypeError(f"unknown kind {kind!r}: one of {', '.join(MIX)}")
        mix[kind] = float(share)
    return mix


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("folder", type=Path)
    parser.add_argument("--people", type=int, default=20_000, help="reference people")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--mix", type=parse_mix, default={}, help="e.g. duplicate=0.4,family=0.05 (shares of N)")
    args = parser.parse_args()
    made = generate(args.people, args.seed, args.mix)
    for name, path in write(made, args.folder, args.seed).items():
        print(f"{name}: {path}")
    kinds: dict[str, int] = {}
    for query in made.queries:
        kinds[query.kind] = kinds.get(query.kind, 0) + 1
    print(f"{len(made.reference)} reference people, {len(made.queries)} queries: {kinds}")
