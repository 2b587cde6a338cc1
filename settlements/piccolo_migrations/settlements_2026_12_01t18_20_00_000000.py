"""Settlements, second part (issue 5): CS review and second approval on statements, credit
prices, adjustments and charges, period-close runs, the double-entry journal, payout accounts
and payouts (R13, R20, R26, R27)."""
from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-01T18:20:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "journal, payouts, adjustments, credit prices"

SQL = [
    "ALTER TABLE statement ALTER COLUMN status TYPE VARCHAR(16)",
    "ALTER TABLE statement ADD COLUMN fees_reviewed_by INTEGER NULL REFERENCES portal_user (id) "
    "ON DELETE RESTRICT",
    "ALTER TABLE statement ADD COLUMN fees_reviewed_at TIMESTAMPTZ NULL",
    "ALTER TABLE statement ADD COLUMN second_approved_by INTEGER NULL REFERENCES portal_user (id) "
    "ON DELETE RESTRICT",
    "ALTER TABLE statement ADD COLUMN second_approved_at TIMESTAMPTZ NULL",
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
    "ALTER TABLE statement_line ADD COLUMN repair_point INTEGER NULL REFERENCES organisation (id) "
    "ON DELETE RESTRICT",
    "CREATE INDEX statement_line_repair_point ON statement_line (repair_point) "
    "WHERE repair_point IS NOT NULL",
    """
    CREATE TABLE credit_price (
        id SERIAL PRIMARY KEY,
        product INTEGER NOT NULL REFERENCES product (id) ON DELETE RESTRICT,
        price_fen BIGINT NOT NULL CHECK (price_fen >= 0),
        effective_from DATE NOT NULL,
        reason TEXT NOT NULL DEFAULT '',
        created_by INTEGER NULL REFERENCES portal_user (id) ON DELETE RESTRICT,
        created_at TIMESTAMPTZ NOT NULL,
        CONSTRAINT credit_price_once UNIQUE (product, effective_from)
    )""",
    """CREATE TRIGGER credit_price_append_only BEFORE UPDATE OR DELETE ON credit_price
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    """
    CREATE TABLE adjustment (
        id SERIAL PRIMARY KEY,
        dealer INTEGER NOT NULL REFERENCES organisation (id) ON DELETE RESTRICT,
        kind VARCHAR(12) NOT NULL CHECK (kind IN ('adjustment', 'charge')),
        amount_fen BIGINT NOT NULL CHECK (amount_fen <> 0),
        reason TEXT NOT NULL CHECK (length(btrim(reason)) > 0),
        corrects INTEGER NULL REFERENCES statement (id) ON DELETE RESTRICT,
        status VARCHAR(12) NOT NULL DEFAULT 'requested'
            CHECK (status IN ('requested', 'approved', 'refused')),
        requested_by INTEGER NOT NULL REFERENCES portal_user (id) ON DELETE RESTRICT,
        requested_at TIMESTAMPTZ NOT NULL,
        decided_by INTEGER NULL REFERENCES portal_user (id) ON DELETE RESTRICT,
        decided_at TIMESTAMPTZ NULL,
        decision_reason TEXT NOT NULL DEFAULT '',
        CONSTRAINT charge_is_negative CHECK (kind <> 'charge' OR amount_fen < 0),
        CONSTRAINT adjustment_second_person CHECK (decided_by IS DISTINCT FROM requested_by)
    )""",
    "CREATE INDEX adjustment_dealer ON adjustment (dealer, status)",
    """
    CREATE TABLE period_close (
        id SERIAL PRIMARY KEY,
        period DATE NOT NULL,
        status VARCHAR(10) NOT NULL DEFAULT 'running'
            CHECK (status IN ('running', 'done', 'failed')),
        step INTEGER NOT NULL DEFAULT 0,
        steps INTEGER NOT NULL DEFAULT 0,
        statements INTEGER NOT NULL DEFAULT 0,
        error TEXT NOT NULL DEFAULT '',
        started_by INTEGER NOT NULL REFERENCES portal_user (id) ON DELETE RESTRICT,
        started_at TIMESTAMPTZ NOT NULL,
        finished_at TIMESTAMPTZ NULL
    )""",
    # one run at a time per month
    "CREATE UNIQUE INDEX period_close_running ON period_close (period) WHERE status = 'running'",
    """
    CREATE TABLE journal_entry (
        id SERIAL PRIMARY KEY,
        at TIMESTAMPTZ NOT NULL,
        period DATE NOT NULL,
        memo VARCHAR(200) NOT NULL DEFAULT '',
        source_type VARCHAR(20) NOT NULL,
        source_id VARCHAR(40) NOT NULL,
        reverses INTEGER NULL REFERENCES journal_entry (id) ON DELETE RESTRICT,
        created_by INTEGER NULL REFERENCES portal_user (id) ON DELETE RESTRICT
    )""",
    "CREATE INDEX journal_entry_source ON journal_entry (source_type, source_id)",
    # an entry is reversed at most once
    "CREATE UNIQUE INDEX journal_entry_reversed_once ON journal_entry (reverses) "
    "WHERE reverses IS NOT NULL",
    """
    CREATE TABLE journal_posting (
        id SERIAL PRIMARY KEY,
        entry INTEGER NOT NULL REFERENCES journal_entry (id) ON DELETE RESTRICT,
        account VARCHAR(30) NOT NULL,
        dealer INTEGER NULL REFERENCES organisation (id) ON DELETE RESTRICT,
        amount_fen BIGINT NOT NULL
    )""",
    "CREATE INDEX journal_posting_entry ON journal_posting (entry)",
    "CREATE INDEX journal_posting_dealer ON journal_posting (dealer, account) "
    "WHERE dealer IS NOT NULL",
    """CREATE TRIGGER journal_entry_append_only BEFORE UPDATE OR DELETE ON journal_entry
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    """CREATE TRIGGER journal_posting_append_only BEFORE UPDATE OR DELETE ON journal_posting
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    # Double entry: at commit, every entry touched sums to zero.
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
    """
    CREATE TABLE payout_account (
        id SERIAL PRIMARY KEY,
        dealer INTEGER NOT NULL REFERENCES organisation (id) ON DELETE RESTRICT,
        stripe_account VARCHAR(40) NOT NULL DEFAULT '',
        bank_name VARCHAR(80) NOT NULL DEFAULT '',
        bank_account VARCHAR(40) NOT NULL DEFAULT '',
        created_by INTEGER NULL REFERENCES portal_user (id) ON DELETE RESTRICT,
        created_at TIMESTAMPTZ NOT NULL
    )""",
    "CREATE INDEX payout_account_dealer ON payout_account (dealer, id)",
    """CREATE TRIGGER payout_account_append_only BEFORE UPDATE OR DELETE ON payout_account
       FOR EACH ROW EXECUTE FUNCTION portal_refuse_change()""",
    """
    CREATE TABLE payout (
        id SERIAL PRIMARY KEY,
        statement INTEGER NOT NULL REFERENCES statement (id) ON DELETE RESTRICT,
        method VARCHAR(10) NOT NULL CHECK (method IN ('stripe', 'bank')),
        amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
        status VARCHAR(12) NOT NULL DEFAULT 'pending'
            CHECK (status IN ('pending', 'paid', 'failed', 'reversed')),
        idempotency_key VARCHAR(80) NOT NULL UNIQUE,
        destination VARCHAR(40) NOT NULL DEFAULT '',
        stripe_transfer VARCHAR(40) NULL UNIQUE,
        bank_reference VARCHAR(80) NOT NULL DEFAULT '',
        failure TEXT NOT NULL DEFAULT '',
        attempts INTEGER NOT NULL DEFAULT 0,
        created_by INTEGER NOT NULL REFERENCES portal_user (id) ON DELETE RESTRICT,
        created_at TIMESTAMPTZ NOT NULL,
        updated_at TIMESTAMPTZ NOT NULL,
        reconciled_at TIMESTAMPTZ NULL
    )""",
    # R27: paying a statement twice is impossible: one live (pending or paid) payout each.
    "CREATE UNIQUE INDEX payout_once ON payout (statement) WHERE status IN ('pending', 'paid')",
    "CREATE INDEX payout_pending ON payout (status) WHERE status = 'pending'",
    "CREATE UNIQUE INDEX bank_reference_once ON payout (bank_reference) "
    "WHERE method = 'bank' AND status <> 'failed'",
]


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="settlements", description=DESCRIPTION)

    async def run():
        from piccolo.engine import engine_finder

        db = engine_finder()
        for statement in SQL:
            await db.run_ddl(statement)

    manager.add_raw(run)
    return manager
