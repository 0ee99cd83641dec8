/**
 * The value lists the PyPI fixture generator draws from, ordered from most to least frequent: ISO country codes,
 * project names (real top packages first, then made-up names up to a few thousand), and weighted choices for
 * the low-cardinality columns. Shares are rough approximations of the public PyPI download statistics.
 */

/** ~200 ISO 3166-1 alpha-2 codes, most downloads first (cloud regions make IE and SG rank high). */
export const COUNTRY_CODES: readonly string[] = (
  'US CN IE DE SG JP GB IN FR KR NL CA BR AU HK RU SE FI TW CH ES IT PL ID VN BE IL ZA TR UA AT DK NO CZ MX AR ' +
  'CO CL PT RO HU GR TH MY PH NZ SA AE EG PK BD NG KE IR IQ PE VE EC BG RS HR SK SI LT LV EE BY KZ UZ GE AM AZ ' +
  'LU IS MT CY MA DZ TN LK NP MM KH LA MN QA KW BH OM JO LB GH ET UG TZ RW CM CI SN ZW ZM AO MZ BO PY UY CR PA ' +
  'GT HN SV NI DO CU JM TT PR BA MK AL MD ME XK MO BN AF YE SY PS LY SD SO MU MG NA BW MW BJ BF ML NE TD GA CG ' +
  'CD GN SL LR TG GM GW MR ER DJ KM SC CV ST GQ BI SS LS SZ FJ PG SB VU WS TO KI FM MH PW NR TV BT MV TL KG TJ ' +
  'TM BZ GY SR BS BB AG DM GD KN LC VC HT AD MC SM LI VA GL FO GI IM JE GG BM KY VG RE GP MQ GF NC PF'
).split(' ');

/** Real packages, roughly in download order; they take the head of the skewed distribution. */
const TOP_PROJECTS: readonly string[] = (
  'boto3 botocore urllib3 requests setuptools certifi charset-normalizer idna typing-extensions python-dateutil ' +
  's3transfer packaging aiobotocore six numpy grpcio-status s3fs fsspec pyyaml pip cryptography google-api-core ' +
  'pydantic cffi attrs protobuf pycparser pandas importlib-metadata jmespath rsa pyasn1 wheel zipp click ' +
  'platformdirs pytz markupsafe jinja2 colorama awscli tomli filelock pydantic-core virtualenv pluggy ' +
  'googleapis-common-protos cachetools pytest wrapt pyjwt jsonschema google-auth pyarrow annotated-types iniconfig ' +
  'tzdata sqlalchemy docutils psutil exceptiongroup pyparsing requests-oauthlib oauthlib aiohttp grpcio multidict ' +
  'yarl frozenlist aiosignal greenlet scipy soupsieve beautifulsoup4 pygments tqdm decorator httpx httpcore h11 ' +
  'anyio sniffio openpyxl et-xmlfile werkzeug flask itsdangerous tomlkit lxml pillow distlib isodate ' +
  'mypy-extensions more-itertools rich markdown-it-py mdurl regex coverage psycopg2-binary openai matplotlib ' +
  'scikit-learn joblib threadpoolctl kiwisolver fonttools cycler contourpy redis uv ruff black mypy fastapi ' +
  'starlette uvicorn gunicorn django celery kombu clickhouse-connect polars duckdb torch transformers'
).split(' ');

/** Prefixes and suffixes of made-up project names (fixtures/pypi-realistic.ts draws from them too). */
export const NAME_PREFIXES: readonly string[] = [
  '',
  'py',
  'django-',
  'flask-',
  'pytest-',
  'azure-',
  'types-',
  'mkdocs-',
  'sphinx-',
  'jupyter-',
];
const NAME_STEMS = (
  'cache json yaml http grpc auth cloud queue stream table vector graph parser logger config schema storage ' +
  'metrics tracer shell crypto image audio geo time search index model agent kafka redis mongo sql etl ' +
  'feature notebook widget lint format'
).split(' ');
export const NAME_SUFFIXES: readonly string[] = [
  '',
  '-client',
  '-utils',
  '-sdk',
  '-core',
  '-tools',
  '2',
  '-lite',
];

/** Made-up but plausible names: mixed-radix over prefix × stem × suffix, so every index gives a distinct name. */
function syntheticProject(index: number): string {
  const prefix = NAME_PREFIXES[index % NAME_PREFIXES.length] ?? '';
  const rest = Math.floor(index / NAME_PREFIXES.length);
  const stem = NAME_STEMS[rest % NAME_STEMS.length] ?? 'pkg';
  const suffix = NAME_SUFFIXES[Math.floor(rest / NAME_STEMS.length) % NAME_SUFFIXES.length] ?? '';
  return prefix + stem + suffix;
}

/** `count` distinct project names, the real top packages first. */
export function projectNames(count: number): string[] {
  const names = new Set(TOP_PROJECTS.slice(0, count));
  for (let i = 0; names.size < count; i += 1) {
    if (i >= NAME_PREFIXES.length * NAME_STEMS.length * NAME_SUFFIXES.length) break;
    names.add(syntheticProject(i));
  }
  return [...names];
}

/** [value, share] pairs; shares need not sum to 1 (they are normalised). */
export type Weighted = readonly (readonly [string, number])[];

export const TYPES: Weighted = [
  ['bdist_wheel', 0.86],
  ['sdist', 0.135],
  ['bdist_egg', 0.003],
  ['bdist_wininst', 0.001],
  ['bdist_dumb', 0.0005],
  ['bdist_msi', 0.0003],
  ['bdist_rpm', 0.0002],
];

export const INSTALLERS: Weighted = [
  ['pip', 0.74],
  ['uv', 0.13],
  ['poetry', 0.05],
  ['requests', 0.025],
  ['pdm', 0.01],
  ['pipenv', 0.01],
  ['bandersnatch', 0.01],
  ['setuptools', 0.005],
  ['Browser', 0.005],
  ['pex', 0.005],
  ['conda', 0.005],
];

export const PYTHON_MINORS: Weighted = [
  ['3.8', 0.06],
  ['3.9', 0.14],
  ['3.10', 0.2],
  ['3.11', 0.27],
  ['3.12', 0.26],
  ['3.13', 0.07],
];

export const SYSTEMS: Weighted = [
  ['Linux', 0.86],
  ['Windows', 0.08],
  ['Darwin', 0.06],
];
