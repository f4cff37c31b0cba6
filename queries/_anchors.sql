-- Anchor text, in words, and the class of each anchor (docs/anchors.md).
--
-- anchor_words(text)
--     the text normalised for comparing: lower case, accents stripped (strip_accents),
--     every run of white space and punctuation (ASCII's, and the quotes, dashes,
--     ellipsis, inverted marks, bullets and trade marks other scripts' text uses) one
--     space, trimmed. Written as a list of characters, not as "not a letter or digit"
--     (\pL): that pattern took 1.7 ms to compile in each query (bench/RESULTS.md).
--     'Hier klicken!' -> 'hier klicken'; 'Acme-Widgets' -> 'acme widgets'; NULL -> ''.
--
-- generic_anchors()
--     the generic phrases ("click here", "read more", ...) in English, German, French
--     and Spanish, as written in each language; they are compared as anchor_words.
--     Each phrase is written once: one several languages use ('link', 'details',
--     'website') stands under the first of them.
--
-- anchor_classes()
--     every class, in the order the queries show them (core.schema.ANCHOR_CLASSES;
--     tests/test_closed_lists.py compares).
--
-- brand_token(domain)
--     the first label of a registrable domain: 'acme-widgets.example' -> 'acme-widgets'.
--     An IDN domain's token is its punycode label ('xn--...'): name the brand in brands.
--
-- brand_forms(brand_token, brands)
--     the brand names an anchor is looked for, in words: the brand token and each of
--     brands, each as anchor_words ('acme widgets') and written together ('acmewidgets').
--
-- is_naked_url(anchor)
--     true when the whole anchor is a URL or a host name: optional http:// or https://,
--     optional www., a dotted host name (labels of any characters but white space and
--     punctuation; the last one ASCII letters or punycode), then optionally a port and
--     a path, query or fragment ('acme.example', 'https://acme.example/x',
--     'www.acme.example', 'bücher.example').
--
-- anchor_class_of(anchor, words, kind, brand_words, keyword_words, generic)
--     the class of a link's anchor from its words (anchor_words(anchor)), the query's
--     brand_forms and keyword_words(keywords), each computed once per query, and
--     whether its words are one of generic_words() (a join in the queries: a list
--     lookup per anchor cost a hot target 0.7 s; bench/RESULTS.md, "link audit").
--     The first rule that applies:
--       image      the link is an image link (kind img), whatever its alt text
--       empty      no anchor text once trimmed (as for redirects, canonicals and meta
--                  refreshes, whose anchor is '')
--       naked_url  is_naked_url(anchor)
--       branded    its words contain one of brand_forms as whole words
--       exact      its words equal a keyword's words (keywords: VARCHAR[])
--       partial    its words include every word of a keyword, in any order
--       generic    its words are those of one of generic_anchors()
--       other      none of these
--     brand_token: brand_token(target_domain(target, scope)); brands and keywords:
--     VARCHAR[] or NULL, compared as anchor_words (a name that has no words is ignored).
--
-- anchor_class(anchor, kind, brand_token, brands, keywords)
--     the same for one anchor, all in one call: handy in a DuckDB shell; the queries
--     use anchor_class_of, with what it needs computed once.
--
-- keyword_words(keywords), generic_words()
--     the keywords and the generic phrases as anchor_words.

CREATE OR REPLACE TEMP MACRO anchor_words(text) AS
    trim(regexp_replace(lower(strip_accents(coalesce(text, ''))),
                        '[\s[:punct:]…“”„‘’‚–—«»‹›¡¿·•™®©°§¶]+', ' ', 'g'));

CREATE OR REPLACE TEMP MACRO generic_anchors() AS [
    -- English
    'click here', 'click', 'here', 'click this link', 'this', 'read more', 'more',
    'learn more', 'find out more', 'see more', 'view more', 'more info', 'more information',
    'more details', 'details', 'continue reading', 'continue', 'read', 'read the article',
    'full article', 'article', 'this article', 'website', 'this website', 'the website',
    'web site', 'site', 'this site', 'visit website', 'visit site', 'visit the website',
    'visit', 'go to website', 'official website', 'link', 'this link', 'link here', 'url',
    'page', 'this page', 'source', 'via', 'home', 'homepage', 'home page', 'check it out',
    'go', 'go here',
    -- German
    'hier', 'hier klicken', 'klicken sie hier', 'klick hier', 'hier lesen', 'weiterlesen',
    'weiter lesen', 'weiter', 'mehr', 'mehr erfahren', 'mehr lesen', 'mehr dazu',
    'mehr info', 'mehr infos', 'mehr informationen', 'weitere informationen', 'jetzt lesen',
    'zum artikel', 'webseite', 'zur webseite', 'zur website', 'internetseite', 'seite',
    'diese seite', 'zur seite', 'startseite', 'quelle', 'zur quelle', 'dieser link',
    'hier entlang', 'hier geht es weiter', 'hier gehts weiter',
    -- French
    'ici', 'cliquez ici', 'cliquer ici', 'clique ici', 'en savoir plus', 'lire la suite',
    'la suite', 'suite', 'lire plus', 'voir plus', 'plus', 'plus d''infos',
    'plus d''informations', 'site web', 'site internet', 'ce site', 'le site',
    'visitez le site', 'voir le site', 'lien', 'ce lien', 'accueil', 'page d''accueil',
    'cet article', 'lire l''article',
    -- Spanish
    'aquí', 'haz clic aquí', 'haga clic aquí', 'clic aquí', 'pulsa aquí', 'pincha aquí',
    'leer más', 'más', 'más información', 'más info', 'ver más', 'saber más',
    'seguir leyendo', 'sitio web', 'este sitio', 'visitar sitio web', 'página web', 'web',
    'enlace', 'este enlace', 'fuente', 'inicio', 'página de inicio', 'detalles',
    'artículo', 'este artículo'
];

CREATE OR REPLACE TEMP MACRO anchor_classes() AS
    ['branded', 'exact', 'partial', 'naked_url', 'generic', 'image', 'empty', 'other'];

CREATE OR REPLACE TEMP MACRO brand_token(domain) AS
    nullif(split_part(domain, '.', 1), '');

CREATE OR REPLACE TEMP MACRO brand_forms(brand_token, brands) AS
    list_distinct(list_filter(
        flatten(list_transform(
            list_concat([brand_token], CAST(brands AS VARCHAR[])),
            lambda name: [anchor_words(name), replace(anchor_words(name), ' ', '')])),
        lambda form: form <> ''));

CREATE OR REPLACE TEMP MACRO is_naked_url(anchor) AS
    regexp_full_match(
        lower(trim(coalesce(anchor, ''))),
        '(https?://)?(www\.)?([^\s./:?#@_,;!''"()\[\]-]([^\s./:?#@_,;!''"()\[\]]*'
        || '[^\s./:?#@_,;!''"()\[\]-])?\.)+([a-z]{2,}|xn--[a-z0-9-]+)\.?'
        || '(:[0-9]+)?([/?#]\S*)?');

CREATE OR REPLACE TEMP MACRO anchor_class_of(anchor, words, kind, brand_words, keyword_words,
                                            generic) AS
    CASE
        WHEN kind = 'img' THEN 'image'
        WHEN trim(coalesce(anchor, '')) = '' THEN 'empty'
        WHEN is_naked_url(anchor) THEN 'naked_url'
        WHEN len(list_filter(brand_words,
                             lambda form: contains(' ' || words || ' ', ' ' || form || ' '))) > 0
            THEN 'branded'
        WHEN list_contains(keyword_words, words) THEN 'exact'
        WHEN len(list_filter(keyword_words,
                             lambda keyword: keyword <> ''
                                 AND list_has_all(string_split(words, ' '),
                                                  string_split(keyword, ' ')))) > 0
            THEN 'partial'
        WHEN generic THEN 'generic'
        ELSE 'other'
    END;

CREATE OR REPLACE TEMP MACRO keyword_words(keywords) AS
    list_transform(CAST(keywords AS VARCHAR[]), lambda keyword: anchor_words(keyword));

CREATE OR REPLACE TEMP MACRO generic_words() AS
    list_transform(generic_anchors(), lambda phrase: anchor_words(phrase));

CREATE OR REPLACE TEMP MACRO anchor_class(anchor, kind, brand_token, brands, keywords) AS
    anchor_class_of(anchor, anchor_words(anchor), kind, brand_forms(brand_token, brands),
                    keyword_words(keywords), list_contains(generic_words(), anchor_words(anchor)));
