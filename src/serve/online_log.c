/*
 * online_log.c — sampled logging of online scoring: whether a call samples
 * itself in (the model's log_sample setting), and the record it appends to
 * the shared ring (common/logring.c) for the writer workers
 * (monitor/log_writer.c), which decode it with online_record_* below.
 *
 * Nothing here waits on I/O, and nothing here fails a scoring call: a record
 * that does not fit is dropped and counted by the ring.
 */
#include "postgres.h"

#include <math.h>

#include "common/pg_prng.h"
#include "miscadmin.h"
#include "catalog/pg_type.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/numeric.h"
#include "utils/timestamp.h"

#include "serve/serve.h"

/*
 * Does this call sample itself in? (the model logs: log_sample > 0.) Every
 * call is counted, so that the next record says how many calls it stands
 * for (the traffic counts of mlsys.online_traffic).
 */
bool
online_log_sampled(CachedModel *m)
{
	m->log_calls++;
	if (m->log_sample >= 1.0)
		return true;
	return pg_prng_double(&pg_global_prng_state) < m->log_sample;
}

/* append a record: header, then items and scores, then the strings */
static void
online_log_append(CachedModel *m, OnlineRecord *r, const int64 *items, const double *scores,
				  const char *entity, const char *label, const char *features)
{
	const char *model = m->name;
	Size		len;
	char	   *buf,
			   *p;

	if (!logring_available())
		return;
	r->model_len = strlen(model);
	r->entity_len = entity ? strlen(entity) : 0;
	r->label_len = label ? strlen(label) : 0;
	r->features_len = features ? strlen(features) : 0;
	len = sizeof(OnlineRecord) + (Size) r->nitems * (sizeof(int64) + sizeof(double)) +
		r->model_len + r->entity_len + r->label_len + r->features_len;
	if (len > (Size) mlsys_log_buffer_kb * 512)
	{
		/* larger than the ring could ever hold: counted as dropped */
		logring_count_refused();
		m->log_dropped++;
		return;
	}
	r->at = GetCurrentTimestamp();
	r->roleid = GetUserId();
	r->calls = m->log_calls;
	r->dropped = m->log_dropped;
	buf = palloc(len);
	memcpy(buf, r, sizeof(OnlineRecord));
	p = buf + sizeof(OnlineRecord);
	if (r->nitems > 0)
	{
		memcpy(p, items, sizeof(int64) * r->nitems);
		p += sizeof(int64) * r->nitems;
		memcpy(p, scores, sizeof(double) * r->nitems);
		p += sizeof(double) * r->nitems;
	}
	memcpy(p, model, r->model_len);
	p += r->model_len;
	if (entity)
		memcpy(p, entity, r->entity_len);
	p += r->entity_len;
	if (label)
		memcpy(p, label, r->label_len);
	p += r->label_len;
	if (features)
		memcpy(p, features, r->features_len);
	/* a dropped record's calls go with the next one */
	if (logring_append(MyDatabaseId, buf, (uint32) len))
		m->log_calls = m->log_dropped = 0;
	else
		m->log_dropped++;
	pfree(buf);
}

/*
 * Log a prediction: the model's version, the entity (NULL: none), the
 * prediction (numeric result, or NaN for none), the predicted label and
 * probability (classifiers; NULL / NaN otherwise), and the features as a
 * JSON object's text.
 */
void
online_log_prediction(CachedModel *m, const char *entity, double prediction,
					  const char *label, double probability, const char *features)
{
	OnlineRecord r;

	memset(&r, 0, sizeof(r));
	r.kind = ONLINE_PREDICTION;
	r.version = m->version;
	r.prediction = prediction;
	r.probability = probability;
	if (!isnan(prediction))
		r.flags |= ONLINE_HAS_PREDICTION;
	if (!isnan(probability))
		r.flags |= ONLINE_HAS_PROBABILITY;
	if (entity)
		r.flags |= ONLINE_HAS_ENTITY;
	if (label)
		r.flags |= ONLINE_HAS_LABEL;
	if (features)
		r.flags |= ONLINE_HAS_FEATURES;
	online_log_append(m, &r, NULL, NULL, entity, label, features);
}

/* log an impression: the items shown to a user (has_user false: anonymous), in rank order */
void
online_log_impression(CachedModel *m, bool has_user, int64 user,
					  const int64 *items, const double *scores, int n)
{
	OnlineRecord r;

	memset(&r, 0, sizeof(r));
	r.kind = ONLINE_IMPRESSION;
	r.version = m->version;
	r.user_id = user;
	r.nitems = n;
	if (has_user)
		r.flags |= ONLINE_HAS_ENTITY;
	online_log_append(m, &r, items, scores, NULL, NULL, NULL);
}

/*
 * A datum as a JSON value: booleans and numbers as themselves, the rest as
 * text through outfunc (InvalidOid: the type's output function, looked up)
 */
void
online_log_json_datum(StringInfo js, Datum d, bool isnull, Oid basetype, Oid typid, Oid outfunc,
					  const char *name)
{
	if (isnull)
	{
		appendStringInfoString(js, "null");
		return;
	}
	switch (basetype)
	{
		case BOOLOID:
			appendStringInfoString(js, DatumGetBool(d) ? "true" : "false");
			return;
		case INT2OID:
		case INT4OID:
		case INT8OID:
		case FLOAT4OID:
		case FLOAT8OID:
		case NUMERICOID:
			mlsys_append_json_number(js, features_coerce(d, basetype, name));
			return;
		default:
			if (!OidIsValid(outfunc))
			{
				bool		varlena;

				getTypeOutputInfo(typid, &outfunc, &varlena);
			}
			escape_json(js, OidOutputFunctionCall(outfunc, d));
	}
}

/* warn once per loaded model that its log_entity is not in what it scores */
void
online_log_entity_missing(CachedModel *m, const char *where)
{
	if (m->entity_warned)
		return;
	m->entity_warned = true;
	ereport(WARNING,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("model \"%s\" logs entity \"%s\", which is not in the %s it scores",
					m->name, m->log_entity, where),
			 errdetail("Its logged predictions get no entity."),
			 errhint("Set \"log_entity\" with mlsys.configure to a column or key the scored rows have.")));
}

/* a JSON value's text for the log: scalars as they are, strings unquoted for the entity */
char *
online_log_jsonb_text(JsonbValue *v, bool quoted)
{
	StringInfoData buf;

	switch (v->type)
	{
		case jbvNull:
			return quoted ? pstrdup("null") : NULL;
		case jbvBool:
			return pstrdup(v->val.boolean ? "true" : "false");
		case jbvNumeric:
			return DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(v->val.numeric)));
		case jbvString:
			if (!quoted)
				return pnstrdup(v->val.string.val, v->val.string.len);
			initStringInfo(&buf);
			escape_json(&buf, pnstrdup(v->val.string.val, v->val.string.len));
			return buf.data;
		default:
			/* an array or object: its JSON text */
			if (!quoted)
				return NULL;
			return JsonbToCString(NULL, v->val.binary.data, v->val.binary.len);
	}
}

/* a jsonb input's keys of the source columns (absent ones as null); its entity */
void
online_log_jsonb(CachedModel *m, Jsonb *jb, StringInfo js, char **entity)
{
	const FeatureSpec *spec = m->spec;
	JsonbValue	key;
	JsonbValue *v;

	appendStringInfoChar(js, '{');
	for (int i = 0; i < spec->ncolumns; i++)
	{
		const FeatureColumn *c = &spec->columns[i];

		key.type = jbvString;
		key.val.string.val = c->name;
		key.val.string.len = strlen(c->name);
		v = findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &key);
		if (i > 0)
			appendStringInfoString(js, ", ");
		escape_json(js, c->name);
		appendStringInfoString(js, ": ");
		appendStringInfoString(js, v == NULL ? "null" : online_log_jsonb_text(v, true));
	}
	appendStringInfoChar(js, '}');
	if (m->log_entity != NULL)
	{
		key.type = jbvString;
		key.val.string.val = m->log_entity;
		key.val.string.len = strlen(m->log_entity);
		v = findJsonbValueFromContainer(&jb->root, JB_FOBJECT, &key);
		if (v == NULL)
			online_log_entity_missing(m, "JSON object");
		else
			*entity = online_log_jsonb_text(v, false);
	}
}

/* a float8[] input (model order, no entity): its scalar numeric columns */
void
online_log_array(const CachedModel *m, const double *x, StringInfo js)
{
	const FeatureSpec *spec = m->spec;
	int			k = 0;
	bool		first = true;

	appendStringInfoChar(js, '{');
	for (int i = 0; i < spec->ncolumns; i++)
	{
		const FeatureColumn *c = &spec->columns[i];

		if (c->length == 0 && !c->categorical)
		{
			if (!first)
				appendStringInfoString(js, ", ");
			first = false;
			escape_json(js, c->name);
			appendStringInfoString(js, ": ");
			mlsys_append_json_number(js, x[k]);
		}
		k += Max(c->length, 1);
	}
	appendStringInfoChar(js, '}');
}

/*
 * Decode a record's payload (as the writer took it from the ring): checks
 * its lengths against len, so a damaged record is refused rather than read
 * past its end.
 */
bool
online_record_decode(const char *payload, Size len, OnlineRecordView *v)
{
	const char *p;
	Size		need;

	if (len < sizeof(OnlineRecord))
		return false;
	memcpy(&v->rec, payload, sizeof(OnlineRecord));
	if (v->rec.nitems < 0 || v->rec.nitems > 100000)
		return false;
	need = sizeof(OnlineRecord) + (Size) v->rec.nitems * (sizeof(int64) + sizeof(double)) +
		(Size) v->rec.model_len + v->rec.entity_len + v->rec.label_len + v->rec.features_len;
	if (need != len || v->rec.model_len == 0 || v->rec.model_len >= NAMEDATALEN * 4)
		return false;
	p = payload + sizeof(OnlineRecord);
	v->items = (const int64 *) p;
	p += sizeof(int64) * v->rec.nitems;
	v->scores = (const double *) p;
	p += sizeof(double) * v->rec.nitems;
	v->model = p;
	p += v->rec.model_len;
	v->entity = p;
	p += v->rec.entity_len;
	v->label = p;
	p += v->rec.label_len;
	v->features = p;
	return true;
}
