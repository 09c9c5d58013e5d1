package dsn

// German code guides (see explain_codes.go): the same codes, readings and
// facts as guidesEN, written for German-speaking operators.
var guidesDE = map[string]codeGuide{
	"5.7.26": {
		meaning: "Der empfangende Server wollte prüfen, ob Ihre Nachricht wirklich von Ihrer Domain stammt (SPF, DKIM und DMARC), und keine dieser Prüfungen hat sie bestätigt; deshalb hat er sie abgewiesen. Gmail antwortet mit 550 5.7.26, wenn eine Nachricht an DMARC scheitert und die Domain p=reject oder p=quarantine verlangt, oder wenn ein Massenversender gar nicht authentifiziert ist.",
		why: "Der SPF-Eintrag der Domain fehlt, nennt die falschen Server (die sendende IP oder der Dienst steht nicht darin), braucht mehr als 10 DNS-Abfragen oder existiert doppelt.\n" +
			"Die Nachricht trägt keine DKIM-Signatur, oder der öffentliche Schlüssel fehlt im DNS oder gehört nach einem Schlüsselwechsel zum alten Schlüssel.\n" +
			"Kein DMARC-Eintrag verbindet SPF und DKIM mit der From-Domain, oder keines von beiden besteht für eine Domain, die zur From-Domain passt (Alignment): Ein Anbieter, der mit seiner eigenen Domain signiert, hilft nicht.\n" +
			"Seit Februar 2024 weisen Gmail und Yahoo Massenmails (mehr als 5.000 Nachrichten am Tag an Gmail) ohne SPF, DKIM und DMARC-Eintrag ab.",
		fix: "1. Eine Testmail an ein eigenes Postfach bei Gmail oder Outlook senden und den Header Authentication-Results lesen: spf, dkim und dmarc müssen jeweils pass melden.\n" +
			"2. SPF: Genau einen TXT-Eintrag auf der Domain des Envelope-Absenders veröffentlichen, der jeden Server und Dienst nennt, der für Sie sendet, etwa v=spf1 ip4:192.0.2.10 include:_spf.provider.example -all; mit dig +short TXT <domain> prüfen.\n" +
			"3. DKIM: Mailserver oder Anbieter mit einem Schlüssel Ihrer eigenen Domain signieren lassen und den öffentlichen Schlüssel des Selektors unter <selektor>._domainkey.<domain> veröffentlichen.\n" +
			"4. DMARC: Einen TXT-Eintrag unter _dmarc.<domain> veröffentlichen, zunächst v=DMARC1; p=none; rua=mailto:<adresse>; die Aggregate-Reports lesen und erst auf p=quarantine oder p=reject gehen, wenn jede Quelle Ihrer Mails besteht.\n" +
			"5. Erneut senden, sobald die Prüfungen bestehen. bounced verbucht einen Vorfall auf Absenderseite (Urteil alert) und sperrt niemanden: Die Empfänger sind in Ordnung.",
		readings: []reading{
			{ReasonAuthFailure, "immer: Der Status selbst nennt die gescheiterte Authentifizierung (RFC 7372)"},
		},
	},
	"550": {
		meaning: "Der empfangende Server verweigert die Aktion endgültig: meist gibt es das Postfach nicht oder es ist nicht verfügbar. Server antworten aber auch mit 550, wenn sie den Absender blockieren; der erweiterte Statuscode und der Text des Servers entscheiden, wessen Problem es ist.",
		why: "Die Adresse des Empfängers ist vertippt, wurde gelöscht oder hat nie existiert.\n" +
			"Der Anbieter hat das Postfach deaktiviert oder stillgelegt, etwa nach langer Zeit ohne Anmeldung.\n" +
			"Die Domain des Empfängers existiert nicht mehr oder nimmt keine Mails mehr an.\n" +
			"Jenseits des Postfachs: Viele Server (darunter Microsoft) antworten mit 550 5.7.x, wenn sie einen Absender wegen Ruf, Inhalt oder fehlender Authentifizierung blockieren.",
		fix: "1. Zuerst den erweiterten Statuscode und den Text lesen: 5.1.x und 5.2.1 betreffen die Adresse, 5.7.x betrifft Ihren Versand (siehe Lesarten).\n" +
			"2. Bei einem Adressproblem auf Tippfehler prüfen (gmial.com, hotmal.de) und nur mit Bestätigung des Empfängers korrigieren; eine geratene Korrektur schreibt Fremde an.\n" +
			"3. Kennen Sie den Empfänger, über einen anderen Weg (Telefon, Kundenkonto) fragen, ob die Adresse noch genutzt wird.\n" +
			"4. Die Liste sauber halten: bounced sperrt unbekannte und deaktivierte Adressen selbst, sodass sie nicht wieder angeschrieben werden. Neue Adressen per Double-Opt-in bestätigen lassen, statt nachträglich Prüfdienste zu bezahlen.\n" +
			"5. Bei 5.7.x ist nicht der Empfänger das Problem: der Lösung dieser Lesart folgen (bounced explain blocklisted, auth_failure, spam_content).",
		readings: []reading{
			{ReasonUserUnknown, "5.1.1, 5.1.0 oder 5.1.6, oder Worte wie \"user unknown\", \"no such user\", \"unbekannt\", \"existiert nicht\""},
			{ReasonMailboxDisabled, "5.2.1, oder \"disabled\", \"inactive\", \"deaktiviert\", \"gesperrt\""},
			{ReasonHostUnknown, "5.1.2 oder 5.1.10 (Null-MX), oder \"domain not found\", \"no MX\""},
			{ReasonBlocklisted, "5.7.x mit dem Namen einer Liste (Spamhaus, Barracuda, Microsofts S3140) oder \"reputation\""},
			{ReasonSpamContent, "5.7.x mit \"spam\" oder \"content\""},
			{ReasonPolicyRejected, "5.7.x mit einer anderen lokalen Regel"},
			{ReasonUnknown, "eine nackte 550 ohne Status und ohne Text: bounced behält den Grund unknown und sperrt deswegen niemanden"},
		},
	},
	"554": {
		meaning: "Die Transaktion ist fehlgeschlagen: Der empfangende Server hat Ihre Nachricht als Ganzes abgewiesen, meist wegen des Absenders und nicht wegen des Empfängers. Die häufigste Ursache ist eine Sperrliste (Blacklist); dann Inhalte, die nach Spam aussehen; dann fehlende Authentifizierung.",
		why: "Ihre sendende IP oder Ihre Domain steht auf einer Sperrliste. Listen nehmen IPs auf, die Spamfallen treffen, Beschwerden auslösen oder über ein gekapertes Konto oder Webformular senden; auch eine neue IP ohne Historie oder eine geteilte IP, die ein Nachbar verdorben hat, kann gelistet sein.\n" +
			"Der Inhalt wirkt auf den Filter des Empfängers wie Spam: Links auf gelistete Domains oder über Linkverkürzer, ein reißerischer Betreff, reine Bild-Mails, kein Textteil.\n" +
			"Der Empfänger vertraut Mails Ihrer Domain nicht, weil SPF, DKIM oder DMARC fehlen oder scheitern.\n" +
			"Seltener: Weiterleitung verweigert (\"relay access denied\") oder eine andere lokale Regel.",
		fix: "1. Die Sperrlisten prüfen. Der Text des Servers nennt meist die Liste, die Sie abgewiesen hat; Ihre sendende IP und Domain auf der Seite dieser Liste nachschlagen, oder bei vielen auf einmal mit einem Multi-Listen-Prüfer (MXToolbox Blacklist Check, multirbl.valli.org). In der Shell prüft dig +short 10.2.0.192.zen.spamhaus.org die IP 192.0.2.10 (Oktette umgedreht); eine Antwort 127.0.0.x heißt gelistet. Den eigenen Resolver fragen: Spamhaus beantwortet keine Abfragen über öffentliche Resolver.\n" +
			"2. Die Ursache abstellen, bevor Sie die Entfernung beantragen, sonst kommt die Listung wieder: unbestätigte Anmeldungen stoppen, alte inaktive Adressen entfernen (dort verstecken sich Spamfallen), gekaperte Konten und Formulare schließen.\n" +
			"3. Die Entfernung (Delisting) beantragen, wo die Liste Anträge annimmt: Spamhaus unter check.spamhaus.org; Barracuda unter barracudacentral.org (Removal Request); Microsoft (Outlook.com, Hotmail, Fehler S3140/S3150) unter sender.office.com. Einträge bei SpamCop verfallen von selbst etwa 24 Stunden nach der letzten Meldung, bei UCEPROTECT Level 1 nach 7 Tagen ohne neue Treffer (eine bezahlte Express-Entfernung ist nicht nötig). Gmail führt keine Liste, aus der man sich austragen lässt: die Postmaster Tools beobachten.\n" +
			"4. Den Inhalt prüfen: die Nachricht durch einen Spam-Tester schicken, auf die eigene Domain verlinken, keine Linkverkürzer, einen HTML- und einen Textteil senden.\n" +
			"5. Die Domain mit SPF, DKIM und DMARC authentifizieren (bounced explain 5.7.26).\n" +
			"6. Den Ruf beobachten, damit das nächste Problem früh auffällt: Google Postmaster Tools, Microsoft SNDS, eine Beschwerdequote unter 0,1 %, und die Sicht sender_incidents sowie bounced report, die solche Ablehnungen pro empfangendem Server zählen. Empfänger werden nicht gesperrt.",
		readings: []reading{
			{ReasonBlocklisted, "der Text nennt eine Liste (Spamhaus, Barracuda, SpamCop, UCEPROTECT, Microsofts S3140) oder sagt \"blocked\", \"listed\", \"reputation\""},
			{ReasonSpamContent, "\"spam\", \"content rejected\", \"looks like spam\""},
			{ReasonAuthFailure, "5.7.23 bis 5.7.26, oder \"SPF\", \"DKIM\", \"DMARC\", \"unauthenticated\""},
			{ReasonRelayDenied, "\"relay access denied\", \"relaying denied\""},
			{ReasonPolicyRejected, "jede andere lokale Regel, und eine nackte 554 ohne Text (das verbucht bounced dann)"},
		},
	},
	"421": {
		meaning: "Eine vorübergehende Ablehnung: Der empfangende Server will gerade nicht mit Ihnen sprechen und schließt die Verbindung. Das ist eine Verzögerung, keine Abweisung: Ihr Server behält die Nachricht und versucht es erneut. Eine 421 ist nie dauerhaft.",
		why: "Der Server ist überlastet, startet neu oder wird gewartet.\n" +
			"Sie haben in kurzer Zeit zu viele Verbindungen geöffnet oder zu viele Nachrichten gesendet, und der Empfänger bremst Sie; große Anbieter senken das Limit für Absender mit schwachem Ruf (Gmail 421 4.7.28, Yahoo [TSS04]).\n" +
			"Manche Server betreiben Greylisting mit 421 statt 450 oder 451.",
		fix: "1. Abwarten: Ihr Mailserver versucht es selbst erneut (Postfix: zuerst nach etwa 5 Minuten, dann in wachsenden Abständen bis etwa eine Stunde, und gibt nach maximal_queue_lifetime auf, standardmäßig 5 Tage).\n" +
			"2. Sicherstellen, dass Wiederholungen eingeschaltet sind: Eine Anwendung, die selbst SMTP spricht, muss Nachrichten zurückstellen und erneut senden; die Warteschlange ansehen (postqueue -p, mailq).\n" +
			"3. Spricht der Text von Rate oder Menge, an diesen Anbieter langsamer senden: weniger parallele Verbindungen und eine Pause pro Ziel (Postfix smtp_destination_concurrency_limit, smtp_destination_rate_delay), Kampagnen über Stunden verteilen.\n" +
			"4. Die Domain authentifizieren (SPF, DKIM, DMARC): Gut authentifizierte Absender mit gutem Ruf werden weniger gebremst.\n" +
			"5. bounced zählt das als Soft Bounce; erst wiederholte Fehlschläge über Tage sperren eine Adresse.",
		readings: []reading{
			{ReasonServerError, "\"service not available\", \"too busy\", \"maintenance\", 4.3.x, und eine nackte 421 (das verbucht bounced dann)"},
			{ReasonRateLimited, "4.7.28, 4.5.3, oder \"rate\", \"too many connections\", \"too many messages\""},
			{ReasonBlocklisted, "4.7.0 mit \"reputation\", \"complaints\" oder dem Namen einer Liste: eine vorübergehende Sperre wegen Ihres Rufs"},
			{ReasonGreylisted, "\"greylisted\", \"try again in N minutes\""},
		},
	},
	"450": {
		meaning: "Eine vorübergehende Ablehnung für diesen Empfänger: Das Postfach ist gerade nicht verfügbar. Sehr oft ist das Greylisting: Der Server weist einen ersten Versuch absichtlich ab und nimmt dieselbe Nachricht beim erneuten Versuch an. Eine 450 ist nie dauerhaft.",
		why: "Greylisting: Der empfangende Server weist Mails einer noch unbekannten Kombination aus sendender IP, Absender und Empfänger ab, weil Spam-Software selten erneut sendet, echte Mailserver aber schon. Die übliche Wartezeit beträgt wenige Minuten (bei postgrey standardmäßig 300 Sekunden); nach einem erfolgreichen Wiederholungsversuch merkt sich der Server den Absender, meist etwa einen Monat lang, und spätere Mails kommen sofort durch.\n" +
			"Das Postfach ist kurz belegt oder gesperrt, oder der Server kann die Adresse gerade nicht prüfen (Postfix 450 4.1.1, solange die Adressprüfung läuft).\n" +
			"Dem Empfänger missfällt etwas, das er später erneut prüft: eine IP ohne Reverse-DNS-Namen (Postfix \"cannot find your hostname\", 450 4.7.1) oder eine vorübergehende Sperre.",
		fix: "1. Abwarten und Ihren Server erneut senden lassen: Eine per Greylisting verzögerte Nachricht kommt meist nach 5 bis 30 Minuten an.\n" +
			"2. Die Wiederholungseinstellungen prüfen: Wiederholungen müssen eingeschaltet sein und von derselben IP oder demselben Netz kommen. Wer aus einem Pool wechselnder IPs erneut sendet, beginnt die Greylisting-Wartezeit jedes Mal neu; eine Lebensdauer der Warteschlange unter einigen Stunden macht aus Greylisting verlorene Mails.\n" +
			"3. Die Domain mit SPF, DKIM und DMARC authentifizieren und jeder sendenden IP einen passenden Reverse-DNS-Namen geben: Viele Empfänger verzichten bei überprüfbaren Absendern auf Greylisting.\n" +
			"4. bounced zählt eine 450 als Soft Bounce; eine per Greylisting verzögerte Nachricht, die beim erneuten Versuch ankommt, lässt nichts zu tun.",
		readings: []reading{
			{ReasonGreylisted, "4.2.0 oder 4.7.1 mit \"greylisted\", \"greylisting\", \"try again later\""},
			{ReasonServerError, "\"mailbox busy\", \"temporarily unavailable\", 4.3.x, und eine nackte 450"},
			{ReasonUserUnknown, "4.1.1 mit \"unverified address\" und einem zitierten 5xx \"no such user\": die Prüfung des Empfängers ist schon gescheitert"},
			{ReasonAuthFailure, "4.7.25 oder \"cannot find your hostname\", \"reverse DNS\": Ihre sendende IP hat keinen passenden PTR-Namen"},
			{ReasonBlocklisted, "4.7.1 mit dem Namen einer Liste oder \"reputation\""},
		},
	},
	"451": {
		meaning: "Eine vorübergehende Ablehnung: Der empfangende Server hat den Versuch wegen eines lokalen Fehlers oder einer lokalen Richtlinie abgebrochen, und Greylisting ist der häufigste Grund. Ihr Server sollte es später erneut versuchen. Eine 451 ist mit jedem erweiterten Code (auch 451 4.7.1) nie dauerhaft.",
		why: "Greylisting: Der empfangende Server weist ihm noch unbekannte Absender beim ersten Versuch ab, um zu sehen, ob sie wiederkommen; echte Mailserver tun das, die meiste Spam-Software nicht. Die Wartezeit beträgt meist wenige Minuten (oft 5), danach wird der erneute Versuch angenommen und der Absender für Wochen gemerkt.\n" +
			"Ihr Server versucht es nach der ersten Ablehnung nicht erneut (eine Anwendung, die ohne Warteschlange direkt sendet) oder sendet von einer anderen IP erneut, sodass die Wartezeit nie endet.\n" +
			"Eine vorübergehende lokale Regel: zu viele Mails von Ihnen auf einmal, oder eine Richtlinienprüfung, die nicht abgeschlossen werden konnte.\n" +
			"Ein vorübergehender Fehler beim Empfänger, oft eine gescheiterte DNS-Abfrage (Postfix 451 4.3.0 \"Temporary lookup failure\").",
		fix: "1. Erneut senden: Sicherstellen, dass Ihr Mailserver abgewiesene Nachrichten zurückstellt und erneut sendet (Postfix und Exim tun das von sich aus; eine Anwendung, die direkt SMTP spricht, muss es selbst tun), und zwar von derselben IP oder demselben Netz.\n" +
			"2. Wiederholungsabstand und Lebensdauer der Warteschlange prüfen: der erste neue Versuch nach 5 bis 15 Minuten, und eine Lebensdauer von Tagen, nicht Minuten.\n" +
			"3. Die Domain mit SPF, DKIM und DMARC authentifizieren: Das schafft das Vertrauen, mit dem viele Empfänger auf Greylisting verzichten.\n" +
			"4. Halten die Ablehnungen über Stunden an, den Text des Servers lesen: Ein Ratenlimit oder eine Sperre braucht die Lösung dieser Lesart, und der Postmaster des Empfängers kann mehr sagen.\n" +
			"5. bounced zählt das als Soft Bounce; für einen einzelnen vorübergehenden Fehlschlag sperrt es nie eine Adresse.",
		readings: []reading{
			{ReasonGreylisted, "4.7.1 oder 4.7.0 mit \"greylisted\", \"greylisting\", \"try again later\", \"please retry\""},
			{ReasonPolicyRejected, "4.7.1 \"temporarily rejected\" durch lokale Richtlinie ohne Greylisting-Worte, und eine nackte 451 4.7.1 (das verbucht bounced dann)"},
			{ReasonRateLimited, "\"too many\", \"rate limit\", 4.7.28"},
			{ReasonServerError, "4.3.0 \"local error in processing\", \"temporary lookup failure\", und eine nackte 451"},
		},
	},
	"553": {
		meaning: "Der empfangende Server nimmt einen Postfachnamen der Transaktion nicht an: meist fehlt Ihre Absenderadresse (Envelope-Absender oder From-Header), ist falsch formatiert oder stammt aus einer Domain, die er nicht akzeptiert; manchmal ist die Adresse des Empfängers falsch formatiert.",
		why: "Die Absenderadresse ist leer oder falsch formatiert: überzählige Leerzeichen, ein fehlendes @ oder eine fehlende Domain, ein Anzeigename mit Komma ohne Anführungszeichen.\n" +
			"Der sendenden Domain fehlen SPF oder DKIM, oder sie hat keinen MX- oder A-Eintrag, sodass der Empfänger sie nicht als Absender annimmt.\n" +
			"Das Return-Path-Postfach weist die Prüfung des Empfängers ab (Sender-Verification-Callout).\n" +
			"Seltener: Die Empfängeradresse ist falsch formatiert (553 5.1.3), oder der Server leitet für die Domain des Empfängers nicht weiter (qmails \"not in my list of allowed rcpthosts\").",
		fix: "1. Den Absender korrigieren: Envelope-Absender (MAIL FROM, Return-Path) und From-Header müssen je eine korrekt formatierte Adresse sein, lokal@domain, ohne zusätzliche Leerzeichen oder fehlende Zeichen; einen Anzeigenamen mit Sonderzeichen in Anführungszeichen setzen (\"Shop, Inc.\" <news@shop.example>).\n" +
			"2. SPF und DKIM für die sendende Domain einrichten und ihr MX-Einträge geben, damit Empfänger sie prüfen und ihr antworten können.\n" +
			"3. Sicherstellen, dass das Return-Path-Postfach (das bounced liest) Mails annimmt.\n" +
			"4. Ist der Status 5.1.3 oder zitiert der Text den Empfänger, ist die Adresse selbst ungültig: bounced sperrt sie.",
		readings: []reading{
			{ReasonBadSenderAddress, "5.1.7, 5.1.8, oder \"sender address rejected\", \"invalid From\", \"sender domain\", und eine nackte 553 (bounceds wahrscheinlichste Lesart)"},
			{ReasonBadRecipientSyntax, "5.1.3, oder \"invalid address\", \"malformed\" zum Empfänger"},
			{ReasonAuthFailure, "5.7.23 bis 5.7.26, oder \"SPF\", \"DKIM\""},
			{ReasonPolicyRejected, "\"not in my list of allowed rcpthosts\", \"relaying denied\": der Server ist für diese Domain nicht zuständig"},
		},
	},
	"552": {
		meaning: "Der empfangende Server hat abgebrochen, weil ein Speicherlimit überschritten wurde. Zwei ganz verschiedene Probleme teilen sich diesen Code: Das Postfach des Empfängers ist voll (5.2.2), oder Ihre Nachricht ist für den Server zu groß (5.3.4, 5.2.3). Der erweiterte Statuscode und der Text entscheiden.",
		why: "Postfach voll: Das Kontingent des Empfängers ist aufgebraucht; ein Postfach, das wochenlang voll bleibt, ist meist verlassen.\n" +
			"Nachricht zu groß: Anhänge über dem Limit des Empfängers (oft 10 bis 25 MB; die Base64-Kodierung macht sie um ein Drittel größer) oder sehr lange Header.\n" +
			"RFC 5321 (Abschnitt 4.5.3.1.10) weist darauf hin, dass alte Server 552 für \"too many recipients\" senden, was Clients wie die vorübergehende 452 behandeln sollen.",
		fix: "1. Postfach voll: Auf Ihrer Seite ist nichts zu reparieren. Den Empfänger über einen anderen Weg informieren, wenn die Nachricht wichtig ist; nicht sofort erneut senden. bounced zählt das als Soft Bounce und sperrt die Adresse erst nach wiederholten Fällen (Standard: 3 in 14 Tagen, für 30 Tage).\n" +
			"2. Nachricht zu groß: Links auf einen Dienst zur Dateifreigabe statt großer Anhänge senden, Bilder verkleinern und unter der SIZE bleiben, die der Server in seiner EHLO-Antwort nennt (250-SIZE 26214400 sind 25 MiB). Der Empfänger wird nicht gesperrt.\n" +
			"3. Zu viele Empfänger: weniger Empfänger pro Nachricht.",
		readings: []reading{
			{ReasonMailboxFull, "5.2.2, oder \"mailbox full\", \"over quota\", \"insufficient storage\", \"Postfach voll\", und eine nackte 552 (das verbucht bounced dann)"},
			{ReasonMessageTooLarge, "5.3.4 oder 5.2.3, oder \"message size exceeds\", \"too large\", \"size limit\""},
			{ReasonRateLimited, "5.5.3 oder \"too many recipients\""},
		},
	},
}
