-- Staff invitations (a third kind of emailed token) and the business settings an ISP edits.

alter table email_tokens drop constraint email_tokens_purpose_check;
alter table email_tokens add constraint email_tokens_purpose_check
    check (purpose in ('verify_email', 'reset_password', 'invitation'));

alter table tenants
    add column county text check (length(county) <= 60),
    add column address text check (length(address) <= 300),
    add column phone text check (phone ~ '^254[17][0-9]{8}$'),
    add column support_email text check (length(support_email) <= 254),
    add column whatsapp text check (whatsapp ~ '^254[17][0-9]{8}$');
