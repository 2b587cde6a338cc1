"""Settlements, second part: what the database enforces on the tables of 18:20 (R13, R20, R26,
R27): CHECKs, partial and composite indexes, triggers.

Databases migrated before 2026-12-02 already have all of these: they ran an earlier version of
18:20 that created the tables in raw SQL together with these rules. There this migration creates
nothing; it gives those hand-written columns what Piccolo gives every column of tables.py (the
same defaults, foreign keys ON UPDATE CASCADE), so both kinds of database end up identical.
"""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T18:21:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "statement, journal and payout rules"

SQL = [
    "ALTER TABLE statement ADD CONSTRAINT statement_status CHECK "
    "(status IN ('draft', 'second_approval', 'approved', 'paid'))",
    # R26: two different people, whatever the code path
    "ALTER TABLE statement ADD CONSTRAINT statement_four_eyes CHECK "
    "(approved_by IS DISTINCT FROM prepared_by OR approved_by IS NULL)",
    "ALTER TABLE statement ADD CONSTRAINT statement_second_eyes CHECK "
    "(second_approved_by IS NULL OR second_approved_by IS DISTINCT FROM approved_by)",
    "CREATE INDEX statement_period_status ON statement (period, status)",
    """
    CREATE OR REPLACE FUNCTION statement_frozen() RETURNS trigger AS $$
    BEGIN
        IF OLD.status <> 'draft' AND (NEW.total_fen <> OLD.total_fen OR NEW.dealer <> OLD.dealer
                                      OR NEW.period <> OLD.period) THEN
            RAISE EXCEPTION 'statement % is frozen', OLD.id USING ERRCODE = 'P0001';
        END IF;
        RETURN NEW;
    END;
    $$ LANGUAGE plpgsql
    """,
    """CREATE TRIGGER statement_frozen BEFORE UPDATE ON statement
       FOR EACH ROW EXECUTE FUNCTION statement_frozen()""",
    """CREATE TRIGGER statement_not_deleted BEFORE DELETE ON statement
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    "CREATE INDEX statement_line_repair_point ON statement_line (repair_point) "
    "WHERE repair_point IS NOT NULL",
    # credit prices: history, one price per product and day
    "ALTER TABLE credit_price ADD CONSTRAINT credit_price_price_fen_check CHECK (price_fen >= 0)",
    "ALTER TABLE credit_price ADD CONSTRAINT credit_price_once UNIQUE (product, effective_from)",
    """CREATE TRIGGER credit_price_append_only BEFORE UPDATE OR DELETE ON credit_price
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    # adjustments and charges: a reason, a sign, a second person
    "ALTER TABLE adjustment ADD CONSTRAINT adjustment_kind_check "
    "CHECK (kind IN ('adjustment', 'charge'))",
    "ALTER TABLE adjustment ADD CONSTRAINT adjustment_amount_fen_check CHECK (amount_fen <> 0)",
    "ALTER TABLE adjustment ADD CONSTRAINT adjustment_reason_check "
    "CHECK (length(btrim(reason)) > 0)",
    "ALTER TABLE adjustment ADD CONSTRAINT adjustment_status_check "
    "CHECK (status IN ('requested', 'approved', 'refused'))",
    "ALTER TABLE adjustment ADD CONSTRAINT charge_is_negative "
    "CHECK (kind <> 'charge' OR amount_fen < 0)",
    "ALTER TABLE adjustment ADD CONSTRAINT adjustment_second_person "
    "CHECK (decided_by IS DISTINCT FROM requested_by)",
    "CREATE INDEX adjustment_dealer ON adjustment (dealer, status)",
    # period close: one run at a time per month
    "ALTER TABLE period_close ADD CONSTRAINT period_close_status_check "
    "CHECK (status IN ('running', 'done', 'failed'))",
    "CREATE UNIQUE INDEX period_close_running ON period_close (period) WHERE status = 'running'",
    # the journal: append-only, an entry reversed at most once, balanced at commit
    "CREATE INDEX journal_entry_source ON journal_entry (source_type, source_id)",
    "CREATE UNIQUE INDEX journal_entry_reversed_once ON journal_entry (reverses) "
    "WHERE reverses IS NOT NULL",
    "CREATE INDEX journal_posting_entry ON journal_posting (entry)",
    "CREATE INDEX journal_posting_dealer ON journal_posting (dealer, account) "
    "WHERE dealer IS NOT NULL",
    """CREATE TRIGGER journal_entry_append_only BEFORE UPDATE OR DELETE ON journal_entry
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    """CREATE TRIGGER journal_posting_append_only BEFORE UPDATE OR DELETE ON journal_posting
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    """
    CREATE OR REPLACE FUNCTION journal_entry_balances() RETURNS trigger AS $$
    DECLARE total bigint;
    BEGIN
        SELECT coalesce(sum(amount_fen), 0) INTO total FROM journal_posting
        WHERE entry = NEW.entry;
        IF total <> 0 THEN
            RAISE EXCEPTION 'journal entry % does not balance (%)', NEW.entry, total
                USING ERRCODE = 'P0001';
        END IF;
        RETURN NULL;
    END;
    $$ LANGUAGE plpgsql
    """,
    """CREATE CONSTRAINT TRIGGER journal_entry_balances AFTER INSERT ON journal_posting
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_entry_balances()""",
    # payout accounts: history, the newest applies
    "CREATE INDEX payout_account_dealer ON payout_account (dealer, id)",
    """CREATE TRIGGER payout_account_append_only BEFORE UPDATE OR DELETE ON payout_account
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    # payouts
    "ALTER TABLE payout ADD CONSTRAINT payout_method_check CHECK (method IN ('stripe', 'bank'))",
    "ALTER TABLE payout ADD CONSTRAINT payout_amount_fen_check CHECK (amount_fen > 0)",
    "ALTER TABLE payout ADD CONSTRAINT payout_status_check "
    "CHECK (status IN ('pending', 'paid', 'failed', 'reversed'))",
    # R27: paying a statement twice is impossible: one live (pending or paid) payout each.
    "CREATE UNIQUE INDEX payout_once ON payout (statement) WHERE status IN ('pending', 'paid')",
    "CREATE INDEX payout_pending ON payout (status) WHERE status = 'pending'",
    "CREATE UNIQUE INDEX bank_reference_once ON payout (bank_reference) "
    "WHERE method = 'bank' AND status <> 'failed'",
]

# For databases that ran the raw-SQL 18:20: the defaults its CREATE TABLEs left out...
DEFAULTS = {
    "credit_price": {"price_fen": "0", "effective_from": "CURRENT_DATE",
                     "created_at": "CURRENT_TIMESTAMP"},
    "adjustment": {"kind": "''", "amount_fen": "0", "reason": "''",
                   "requested_at": "CURRENT_TIMESTAMP"},
    "period_close": {"period": "CURRENT_DATE", "started_at": "CURRENT_TIMESTAMP"},
    "journal_entry": {"at": "CURRENT_TIMESTAMP", "period": "CURRENT_DATE", "source_type": "''",
                      "source_id": "''"},
    "journal_posting": {"account": "''", "amount_fen": "0"},
    "payout_account": {"created_at": "CURRENT_TIMESTAMP"},
    "payout": {"method": "''", "amount_fen": "0", "idempotency_key": "''",
               "stripe_transfer": "NULL", "created_at": "CURRENT_TIMESTAMP",
               "updated_at": "CURRENT_TIMESTAMP"},
}
# ... and its foreign keys, ON UPDATE NO ACTION where Piccolo says ON UPDATE CASCADE.
FOREIGN_KEYS = {
    "statement": {"fees_reviewed_by": "portal_user", "second_approved_by": "portal_user"},
    "statement_line": {"repair_point": "organisation"},
    "credit_price": {"product": "product", "created_by": "portal_user"},
    "adjustment": {"dealer": "organisation", "corrects": "statement",
                   "requested_by": "portal_user", "decided_by": "portal_user"},
    "period_close": {"started_by": "portal_user"},
    "journal_entry": {"reverses": "journal_entry", "created_by": "portal_user"},
    "journal_posting": {"entry": "journal_entry", "dealer": "organisation"},
    "payout_account": {"dealer": "organisation", "created_by": "portal_user"},
    "payout": {"statement": "statement", "created_by": "portal_user"},
}


def _align_raw_sql_tables() -> list[str]:
    statements = []
    for table in DEFAULTS.keys() | FOREIGN_KEYS.keys():
        clauses = [f'ALTER COLUMN "{column}" SET DEFAULT {default}'
                   for column, default in DEFAULTS.get(table, {}).items()]
        for column, target in FOREIGN_KEYS.get(table, {}).items():
            name = f"{table}_{column}_fkey"
            clauses += [f'DROP CONSTRAINT "{name}"',
                        f'ADD CONSTRAINT "{name}" FOREIGN KEY ("{column}") REFERENCES "{target}" ("id") '
                        "ON DELETE RESTRICT ON UPDATE CASCADE"]
        statements.append(f'ALTER TABLE "{table}" ' + ", ".join(clauses))
    return sorted(statements)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="settlements", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        db = engine_finder()
        # The raw-SQL 18:20 ran in one transaction: one of its rules present means all are.
        ran_raw_sql_version = await db.run_ddl(  # (run_ddl returns the rows, in the transaction)
            "SELECT 1 FROM pg_constraint WHERE conname = 'statement_four_eyes'")
        for statement in _align_raw_sql_tables() if ran_raw_sql_version else SQL:
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
