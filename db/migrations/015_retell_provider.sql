-- 015: a second voice provider, Retell AI (docs/provider-protocol.md).
--
-- assistant.provider names the provider whose API places the campaign's
-- calls: 'vapi' (the default) or 'retell'. For 'retell',
-- provider_assistant_id is the Retell agent id (sent as override_agent_id)
-- and outbound_e164 the Retell number the calls come from (from_number);
-- provider_phone_number_id is not used.
ALTER TABLE assistant
    DROP CONSTRAINT assistant_provider_check,
    ADD CONSTRAINT assistant_provider_check CHECK (provider IN ('vapi', 'retell'));
