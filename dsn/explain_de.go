package dsn

var textsDE = map[Reason]reasonText{
	ReasonUserUnknown: {
		title:   "Empfänger unbekannt",
		meaning: "Der empfangende Server meldet, dass es das Postfach nicht gibt: kein solcher Benutzer unter dieser Domain (meist 550 5.1.1, oder 5.1.6, wenn es ohne Weiterleitung umgezogen ist).",
		why:     "Die Adresse wurde bei der Anmeldung vertippt, die Person hat das Unternehmen verlassen, oder der Anbieter hat das Konto gelöscht. Gekaufte, gesammelte oder jahrelang liegende Adressen enthalten viele davon.",
		fix: "1. Beim Versand ist nichts zu reparieren: Die Adresse wird gesperrt und darf nicht mehr angeschrieben werden.\n" +
			"2. Häufen sich unbekannte Empfänger aus einer Quelle, sind deren Daten schlecht: Anmeldeformular prüfen (Tippfehler wie gmial.com) und neue Adressen per Double-Opt-in bestätigen lassen.\n" +
			"3. Ist die Person Kunde, über einen anderen Kanal nach einer neuen Adresse fragen.",
	},
	ReasonMailboxDisabled: {
		title:   "Postfach deaktiviert",
		meaning: "Das Postfach existiert, nimmt aber keine Mails an: Der Anbieter hat es deaktiviert, gesperrt, stillgelegt oder als inaktiv markiert (meist 5.2.1).",
		why:     "Freemail-Anbieter deaktivieren Konten, in die sich monatelang niemand eingeloggt hat; Firmen sperren Postfächer ausgeschiedener Mitarbeiter; manche Konten sind wegen Missbrauchs gesperrt.",
		fix: "1. Die Adresse wird gesperrt: Ein aufgegebenes Postfach kommt nicht zurück, und Mails dorthin schaden Ihrem Ruf bei diesem Anbieter.\n" +
			"2. Viele deaktivierte Postfächer zeigen eine veraltete Liste: Abonnenten entfernen, die lange nichts geöffnet oder geklickt haben.\n" +
			"3. Die Sperre nur von Hand aufheben, wenn der Empfänger bestätigt, dass das Postfach wieder aktiv ist.",
	},
	ReasonHostUnknown: {
		title:   "Empfänger-Domain existiert nicht",
		meaning: "Die Domain hinter dem @ existiert nicht oder nimmt keine Mails an: kein MX- oder Adresseintrag, ein Null-MX (5.1.10, RFC 7505) oder keine Route (5.4.4, 5.1.2).",
		why:     "Tippfehler in der Domain (gmal.com, yaho.de), aufgegebene Firmendomains und abgelaufene Domains.",
		fix: "1. Die Adresse wird gesperrt.\n" +
			"2. Die Domain schon bei der Anmeldung prüfen (hat sie MX-Einträge?) und Korrekturen für häufige Tippfehler vorschlagen.\n" +
			"3. Scheitern viele Adressen einer bekannten, funktionierenden Domain so, zuerst den eigenen DNS-Resolver prüfen: Ein kaputtes lokales DNS lässt jede Domain unbekannt aussehen.",
	},
	ReasonBadRecipientSyntax: {
		title:   "Ungültige Empfängeradresse",
		meaning: "Die Empfängeradresse ist keine gültige Adresse nach RFC 5321, deshalb lehnt der Server sie ab, bevor er sie nachschlägt (5.1.3, oder 501/553 auf RCPT TO).",
		why:     "Leerzeichen, doppelte Punkte, fehlende Domain, Kommas statt Punkten oder Zeichen, die der Server nicht annimmt, meist aus einem Formular oder Import ohne Prüfung.",
		fix: "1. Die Adresse wird gesperrt.\n" +
			"2. Adressen dort prüfen, wo sie ins System kommen (Formular, API, CSV-Import), und ablehnen, was keine Adresse ist.\n" +
			"3. Scheitert eine internationalisierte Adresse (Nicht-ASCII-Zeichen vor dem @), fehlt dem Empfangsserver SMTPUTF8: Dort ist die Adresse nicht erreichbar.",
	},
	ReasonMailboxFull: {
		title:   "Postfach voll",
		meaning: "Das Postfach des Empfängers hat sein Speicherkontingent überschritten und nimmt vorerst keine neuen Mails an (552 5.2.2 oder 452 4.2.2).",
		why:     "Der Inhaber räumt nicht auf, bekommt große Anhänge oder nutzt das Postfach gar nicht mehr: Ein Postfach, das wochenlang voll bleibt, ist meist verlassen.",
		fix: "1. Auf Ihrer Seite ist nichts zu tun: Das ist ein Soft Bounce; er wird gezählt, und erst nach wiederholten Bounces (Standard: 3 in 14 Tagen) wird die Adresse für 30 Tage gesperrt.\n" +
			"2. Nicht sofort erneut senden; der nächste reguläre Versand ist der neue Versuch.\n" +
			"3. Große Anhänge vermeiden und stattdessen auf Dateien verlinken.",
	},
	ReasonComplaint: {
		title:   "Spam-Beschwerde",
		meaning: "Der Empfänger hat Ihre Nachricht als Spam markiert, und sein Anbieter hat das über seine Feedback-Schleife weitergeleitet (ein ARF-Bericht, RFC 5965).",
		why:     "Der Empfänger hat die Mail nicht erwartet, erinnert sich nicht an die Anmeldung, bekommt zu viele Mails oder fand keinen schnellen Weg zum Abmelden.",
		fix: "1. Die Adresse wird sofort gesperrt und muss gesperrt bleiben: Beschwerdeführer weiter anzuschreiben führt am schnellsten zur Blockade.\n" +
			"2. Die Beschwerdequote unter 0,1 % halten; Gmail und Yahoo verlangen von Massenversendern weniger als 0,3 %.\n" +
			"3. Abmelden mit einem Klick anbieten (List-Unsubscribe und List-Unsubscribe-Post, RFC 8058), nur an bestätigte Abonnenten senden und in den ersten Zeilen sagen, wer schreibt und warum.",
	},
	ReasonAuthFailure: {
		title:   "Absender-Authentifizierung fehlgeschlagen (SPF, DKIM, DMARC)",
		meaning: "Der empfangende Server konnte nicht prüfen, ob der sendende Server für Ihre Domain senden darf, und die DMARC-Richtlinie Ihrer Domain oder die Regeln des Empfängers weisen solche Mails ab (5.7.26, 5.7.23 SPF, 5.7.25 Reverse-DNS, Microsoft 5.7.509).",
		why:     "Die sendende IP fehlt im SPF-Eintrag, oder SPF überschreitet die Grenze von 10 DNS-Abfragen; Nachrichten sind nicht DKIM-signiert oder mit einer Domain signiert, die nicht zur From-Domain passt; DMARC steht auf p=reject oder p=quarantine, während weder SPF noch DKIM passend bestehen; die sendende IP hat keinen passenden Reverse-DNS-Namen (PTR).",
		fix: "1. Eine Testmail an eine Gmail-Adresse senden und deren Header Authentication-Results lesen: spf, dkim und dmarc müssen alle pass melden.\n" +
			"2. SPF: Der TXT-Eintrag der Domain des Envelope-Absenders muss jeden Server und Dienst enthalten, der für Sie sendet (v=spf1 include:... -all), mit höchstens 10 DNS-Abfragen.\n" +
			"3. DKIM: Mit d= Ihrer From-Domain signieren (oder einer Subdomain davon, bei relaxed Alignment) und den öffentlichen Schlüssel des Selektors im DNS veröffentlichen.\n" +
			"4. DMARC: _dmarc.<domain> mit einer rua=-Adresse veröffentlichen, die Aggregate-Reports lesen und p= erst verschärfen, wenn alle Ihre Quellen bestehen.\n" +
			"5. Jeder sendenden IP einen PTR-Eintrag geben, dessen Name wieder auf die IP zeigt. Der Empfänger ist in Ordnung: Er wird nicht gesperrt.",
	},
	ReasonBlocklisted: {
		title:   "Absender auf einer Sperrliste oder schlechter Ruf",
		meaning: "Der empfangende Server hat die Mail abgelehnt, weil Ihre sendende IP oder Domain auf einer Sperrliste steht (Spamhaus, Barracuda, SpamCop ...) oder bei diesem Anbieter einen schlechten Ruf hat.",
		why:     "Spamfallen oder viele unbekannte Empfänger in Ihrer Liste, eine Häufung von Beschwerden, ein gekapertes Konto oder Webformular, das über Ihre Server Spam verschickt, eine neue IP ohne Versandhistorie oder eine geteilte IP, die ein Nachbar verdorben hat.",
		fix: "1. IP und Domain, die in der Meldung genannt werden (der Text nennt meist die Liste), auf der Seite der Liste selbst oder mit einem Multi-Listen-Prüfer nachschlagen.\n" +
			"2. Zuerst die Ursache finden und abstellen: gekaperte Konten, unbestätigte Anmeldungen, alte inaktive Segmente, gekaufte Adressen.\n" +
			"3. Dann beim Betreiber der Liste die Entfernung beantragen; bei Microsoft über das Sender-Support-Formular und SNDS, bei Gmail die Postmaster Tools beobachten.\n" +
			"4. Neue IPs langsam aufwärmen. Empfänger werden nicht gesperrt: Das Problem liegt beim Versand.",
	},
	ReasonSpamContent: {
		title:   "Als Spam abgelehnt",
		meaning: "Der Inhaltsfilter des empfangenden Servers hat diese Nachricht als Spam eingestuft (550/554 5.7.1 \"spam\", \"content rejected\").",
		why:     "Links auf Domains, die auf URL-Sperrlisten stehen, oder über Linkverkürzer, reißerische Betreffzeilen, reine Bild-Mails, kaputtes HTML, fehlender Textteil oder eine From-Domain, die nicht zu Links und Signatur passt.",
		fix: "1. Die Nachricht durch einen Spam-Prüfer schicken (SpamAssassin, ein Mail-Tester) und beheben, was er bemängelt.\n" +
			"2. Jede verlinkte Domain gegen URL-Sperrlisten prüfen; keine Linkverkürzer; auf die eigene Domain verlinken.\n" +
			"3. Eine ausgewogene HTML- und Textversion senden, die Mail authentifizieren (SPF, DKIM, DMARC) und einen funktionierenden Abmeldelink einfügen.\n" +
			"4. Der Empfänger wird nicht gesperrt.",
	},
	ReasonPolicyRejected: {
		title:   "Von der Richtlinie des Empfängers abgelehnt",
		meaning: "Eine lokale Regel auf der Empfängerseite hat die Nachricht abgelehnt: keine Sperrliste und kein Urteil über den Empfänger, sondern eine Richtlinie (5.7.0, 5.7.1, 451 lokale Richtlinie, TLS verlangt, Header-Regeln).",
		why:     "Der Empfänger verlangt TLS oder Authentifizierung, verbietet bestimmte Absender, Länder oder Anhangstypen, weist Nachrichten ab, die RFC 5322 verletzen (mehrere From-Adressen, fehlendes Date oder Message-ID), oder nimmt nur Mail von bekannten Partnern an.",
		fix: "1. Den Text des Servers im Bounce lesen: Er nennt meist die Regel.\n" +
			"2. Sicherstellen, dass Ihre Mails RFC-konform sind: eine From-Adresse, Date- und Message-ID-Header, gültiges MIME, TLS bei ausgehenden Verbindungen.\n" +
			"3. Erklärt der Text es nicht, postmaster@ der Empfänger-Domain mit dem vollständigen Bounce anschreiben.\n" +
			"4. Der Empfänger wird nicht gesperrt.",
	},
	ReasonBadSenderAddress: {
		title:   "Absenderadresse abgelehnt",
		meaning: "Der empfangende Server hat Ihre Absenderadresse abgelehnt: Der Envelope-Absender (Return-Path) oder die From-Adresse ist falsch formatiert, oder ihre Domain existiert nicht oder nimmt keine Mails an (553 5.1.7/5.1.8, \"sender address rejected\").",
		why:     "Eine From- oder Return-Path-Domain ohne MX- oder A-Eintrag, ein Tippfehler in der Versandkonfiguration, eine nur zum Versand genutzte Subdomain, die nie im DNS veröffentlicht wurde, oder ein Bounce-Postfach, das die Absenderprüfung (Callout) des Empfängers ablehnt.",
		fix: "1. Prüfen, dass die Domain des Envelope-Absenders und die From-Domain auflösen und MX-Einträge haben.\n" +
			"2. Sicherstellen, dass das Return-Path-Postfach (das bounced liest) Mails annimmt: Empfänger testen es, bevor sie Ihre Mail annehmen.\n" +
			"3. Einen korrekt formatierten From-Header verwenden: eine Adresse, keine überzähligen Leerzeichen oder Anführungszeichen.\n" +
			"4. Der Empfänger wird nicht gesperrt.",
	},
	ReasonRelayDenied: {
		title:   "Weiterleitung (Relaying) verweigert",
		meaning: "Der Server, dem Sie die Nachricht übergeben haben, ist für die Domain des Empfängers nicht zuständig und leitet sie für Sie nicht weiter (\"relay access denied\", 554 5.7.1).",
		why:     "Die Mail ging an den falschen Server: einen Smarthost, der SMTP-Authentifizierung verlangt, einen veralteten MX-Eintrag oder DNS-Cache, oder eine Empfänger-Domain, deren MX noch auf einen Server zeigt, der sie nicht mehr führt. Bei Amazon SES wird eine nicht verifizierte Absenderidentität ebenso abgelehnt.",
		fix: "1. Wenn Sie über einen Smarthost oder Anbieter senden: authentifizieren (SMTP AUTH) oder Ihre IP freischalten lassen und dort Ihre Absenderidentität verifizieren.\n" +
			"2. Die MX-Einträge der Empfänger-Domain nachschlagen: Zeigen sie auf einen Server, der die Domain nicht kennt, ist die Domain des Empfängers falsch eingerichtet.\n" +
			"3. Der Empfänger wird nicht gesperrt.",
	},
	ReasonMessageTooLarge: {
		title:   "Nachricht zu groß",
		meaning: "Die Nachricht überschreitet die Größe, die der empfangende Server annimmt (552 5.3.4, 5.2.3).",
		why:     "Anhänge: Die Base64-Kodierung macht sie um ein Drittel größer, und viele Server hören bei 10 bis 25 MB auf. Überlange Headerzeilen oder zu viele Header werden ebenso abgelehnt.",
		fix: "1. Statt Anhängen Links auf Dateien senden und Bilder komprimieren.\n" +
			"2. Die SIZE-Grenze prüfen, die der empfangende Server in seiner EHLO-Antwort nennt.\n" +
			"3. Der Empfänger wird nicht gesperrt.",
	},
	ReasonVirus: {
		title:   "Virus oder Schadsoftware erkannt",
		meaning: "Der Scanner des empfangenden Servers hat in der Nachricht einen Virus, Schadsoftware oder einen verbotenen Anhangstyp gefunden.",
		why:     "Ein infizierter Anhang, ein Dokument mit Makros, eine ausführbare Datei oder ein passwortgeschütztes Archiv, oder ein Link auf eine bekannte Schadseite; manchmal ein gekapertes System, das in Ihrem Namen sendet.",
		fix: "1. Nachricht und Anhänge prüfen; keine ausführbaren Dateien, Makro-Dokumente oder verschlüsselten Archive senden.\n" +
			"2. Haben Sie diese Nachricht nicht gesendet, Systeme und Konten auf Kompromittierung prüfen.\n" +
			"3. Der Empfänger wird nicht gesperrt.",
	},
	ReasonRateLimited: {
		title:   "Versandrate begrenzt",
		meaning: "Der Empfänger nimmt vorerst keine weiteren Mails von Ihnen an: zu viele Nachrichten, Empfänger oder Verbindungen in zu kurzer Zeit (421 4.7.0, 4.7.28, 452 4.5.3).",
		why:     "Versandspitzen an einen Anbieter, eine neue IP ohne Versandhistorie, zu viele Empfänger pro Nachricht oder parallele Verbindungen, oder ein Ruf, der Ihnen eine niedrigere Grenze einbringt.",
		fix: "1. Versandrate und Parallelität pro Ziel-Domain senken (in Postfix: default_destination_rate_delay und ..._destination_concurrency_limit).\n" +
			"2. Große Kampagnen über Stunden verteilen; neue IPs aufwärmen.\n" +
			"3. Zurückgestellte Mails weiter zustellen lassen, nicht als neue Nachrichten erneut senden. Der Empfänger wird nicht gesperrt.",
	},
	ReasonGreylisted: {
		title:   "Greylisting",
		meaning: "Der empfangende Server hat den ersten Zustellversuch absichtlich zurückgestellt und nimmt die Nachricht beim nächsten Versuch an (451 4.7.1, 450 4.2.0).",
		why:     "Greylisting weist unbekannte Kombinationen aus Absender, IP und Empfänger einmal ab, weil Spam-Software selten erneut zustellt, echte Mailserver aber schon.",
		fix: "1. Meist nichts: Ihr Server versucht es erneut, und die Nachricht kommt Minuten später an.\n" +
			"2. Sicherstellen, dass Wiederholungen aktiv sind und von derselben IP oder demselben Pool kommen (ein Versuch von einer anderen IP beginnt die Wartezeit neu).\n" +
			"3. Endet es im Ablauf, sind Wiederholungsintervall oder Queue-Laufzeit zu kurz.",
	},
	ReasonServerError: {
		title:   "Fehler des empfangenden Servers",
		meaning: "Der empfangende Server ist auf seiner Seite gescheitert: ein interner Fehler, eine volle Platte, eine kaputte Konfiguration, oder er ist überlastet oder in Wartung (4.3.x, 5.3.x, 421 Dienst nicht verfügbar).",
		why:     "Vorübergehende Probleme beim Anbieter des Empfängers; gelegentlich eine dauerhafte Fehlkonfiguration.",
		fix: "1. Zunächst nichts: Es zählt als Soft Bounce, und die Zustellung wird wiederholt.\n" +
			"2. Scheitert eine Domain tagelang, deren Postmaster mit dem vollständigen Bounce anschreiben.",
	},
	ReasonNetworkError: {
		title:   "Netzwerk- oder DNS-Fehler",
		meaning: "Ihr Server konnte den empfangenden Server nicht erreichen: Verbindung abgelehnt oder Zeitüberschreitung, keine Route, ein gescheiterter TLS-Handshake, eine fehlgeschlagene DNS-Abfrage oder eine Mailschleife (4.4.1, 4.4.2).",
		why:     "Die Mailserver des Empfängers sind ausgefallen oder nicht erreichbar, sein DNS ist kaputt, oder Ihre eigene Seite sperrt ausgehenden Port 25 (bei Cloud-Anbietern üblich), hat keine funktionierende IPv6-Route oder einen versagenden Resolver.",
		fix: "1. Scheitert eine Domain: deren MX-Einträge prüfen und ob sie auf Port 25 antworten.\n" +
			"2. Scheitern viele Domains: das eigene Netz prüfen, also ausgehenden Port 25, Firewall, IPv6-Anbindung und Reverse-DNS, den lokalen Resolver.\n" +
			"3. Es zählt als Soft Bounce; die Zustellung wird wiederholt.",
	},
	ReasonExpired: {
		title:   "Zustellung abgelaufen",
		meaning: "Ihr Server hat es erneut versucht, bis die Queue-Laufzeit der Nachricht abgelaufen war, und dann aufgegeben (4.4.7, 5.4.7, oder ein Fehlschlag mit dem letzten vorübergehenden Fehler).",
		why:     "Die Empfängerseite hat tagelang zurückgestellt oder war nicht erreichbar: Greylisting, das nie durchließ, ein ausgefallener Server, Drosselung, oder eine Domain, die still keine Mails mehr annimmt.",
		fix: "1. Den letzten Fehler im Bounce ansehen: Er sagt, warum die Versuche scheiterten.\n" +
			"2. Es zählt als Soft Bounce; wiederholte Abläufe an eine Adresse führen zu ihrer Sperre.\n" +
			"3. Laufen Nachrichten an viele Domains ab, die Queue-Laufzeit (Postfix maximal_queue_lifetime, Exim-Retry-Regeln) und das ausgehende Netz prüfen.",
	},
	ReasonDelayed: {
		title:   "Zustellung verzögert (Warnung)",
		meaning: "Eine Warnung, kein Fehlschlag: Ihr Server konnte noch nicht zustellen und versucht es weiter (ein DSN mit Action: delayed).",
		why:     "Der empfangende Server stellt zurück (Greylisting, Drosselung, vorübergehende Fehler) oder ist im Moment nicht erreichbar.",
		fix: "1. Jetzt nichts tun: Ein abschließender Bericht folgt, falls die Zustellung endgültig scheitert.\n" +
			"2. Viele Verzögerungswarnungen für einen Anbieter deuten auf Drosselung oder Reputationsprobleme dort hin.",
	},
	ReasonAutoReply: {
		title:   "Automatische Antwort",
		meaning: "Eine automatische Antwort wie eine Abwesenheits- oder Urlaubsnotiz (RFC 3834): Ihre Nachricht wurde zugestellt.",
		why:     "Der Empfänger hat einen Autoresponder eingerichtet.",
		fix:     "1. Nichts zu tun: Die Adresse ist in Ordnung. Automatische Antworten nie als Bounce behandeln und nie automatisch beantworten.",
	},
	ReasonDelivered: {
		title:   "Zugestellt",
		meaning: "Eine Erfolgsmeldung: Die Nachricht wurde zugestellt, an ein System ohne Zustellberichte weitergegeben oder an eine Liste verteilt (Action delivered, relayed oder expanded).",
		why:     "Zustellberichte wurden auch für den Erfolg angefordert (NOTIFY=SUCCESS), oder ein Relay meldet die Weitergabe.",
		fix:     "1. Nichts zu tun.",
	},
	ReasonUnknown: {
		title:   "Unbekannt",
		meaning: "Die Nachricht konnte nicht eingeordnet werden: kein erkennbarer Statuscode oder Text, oder es war kein Empfänger darin zu finden.",
		why:     "Ein ungewöhnliches Bounce-Format, eine Sprache oder Formulierung, die die Phrasentabellen noch nicht kennen, oder eine Mail, die gar kein Bounce ist.",
		fix: "1. Die Originalnachricht ansehen (sie liegt im Ordner Unrecognized).\n" +
			"2. Ist es ein echter Bounce, ihre Formulierung in die Phrasentabellen aufnehmen, damit der nächste erkannt wird. Wegen eines unbekannten Grundes wird niemand gesperrt.",
	},
}
