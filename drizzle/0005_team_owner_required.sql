-- At least one OWNER per team; the partial unique index team_memberships_one_owner_key allows at most one.
-- Checked at commit (DEFERRABLE INITIALLY DEFERRED), so a transfer may demote the old owner before it promotes the
-- new one and a team may be inserted before its owner's membership. This is the backstop: the service never
-- commits an ownerless team, so in normal operation it never fires. It also refuses deleting a user who still
-- owns a team (their membership would cascade away). Deleting the team itself passes: the team is gone.
CREATE FUNCTION team_owner_required() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  checked_team uuid;
BEGIN
  IF TG_TABLE_NAME = 'teams' THEN
    checked_team := NEW.id;
  ELSE
    checked_team := OLD.team_id;
  END IF;
  IF EXISTS (SELECT 1 FROM public.teams WHERE id = checked_team)
     AND NOT EXISTS (SELECT 1 FROM public.team_memberships WHERE team_id = checked_team AND role = 'OWNER') THEN
    RAISE EXCEPTION 'team % has no OWNER membership', checked_team
      USING ERRCODE = 'check_violation', CONSTRAINT = 'team_owner_required';
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
CREATE CONSTRAINT TRIGGER teams_owner_required
  AFTER INSERT ON teams
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION team_owner_required();
--> statement-breakpoint
-- Only losing an OWNER row (deleted, demoted or moved) can leave a team without one.
CREATE CONSTRAINT TRIGGER team_memberships_owner_required
  AFTER UPDATE OR DELETE ON team_memberships
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW WHEN (OLD.role = 'OWNER') EXECUTE FUNCTION team_owner_required();
