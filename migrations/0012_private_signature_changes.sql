-- Up Migration
-- A signature by one user's user-signing key on another user's master key is seen only by the signer (the spec
-- keeps who verified whom private): the device-list change it causes is for the signer's devices alone.
ALTER TABLE device_list_changes ADD COLUMN only_for text;
CREATE INDEX device_list_changes_only_for ON device_list_changes (only_for, stream_pos) WHERE only_for IS NOT NULL;
