-- The content versions (`name@version`) of the filter, cooldown and
-- formatter that made each alert; NULL where the template uses the
-- built-in default (or for rows written before this migration).
ALTER TABLE alert_log ADD COLUMN filter_version TEXT;
ALTER TABLE alert_log ADD COLUMN cooldown_version TEXT;
ALTER TABLE alert_log ADD COLUMN formatter_version TEXT;
