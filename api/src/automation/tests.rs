//! The grammar, templates, consents and checks of automations.

use super::*;

#[test]
fn triggers_parse_and_print_in_the_grammar() {
    for text in [
        "points-earned",
        "points-earned:50",
        "tier-reached",
        "tier-reached:gold",
        "close-to-next-tier:40",
        "points-expiring:30",
        "at-risk",
        "at-risk:0.3",
        "birthday",
        "first-purchase",
        "days-since-last-purchase:42",
        "campaign-started",
        "campaign-started:7",
    ] {
        let trigger: Trigger = text.parse().unwrap();
        assert_eq!(trigger.to_string(), text);
        let json = serde_json::to_string(&trigger).unwrap();
        assert_eq!(serde_json::from_str::<Trigger>(&json).unwrap(), trigger);
    }
    assert_eq!(
        "lapsed:42".parse::<Trigger>().unwrap(),
        Trigger::DaysSinceLastPurchase { days: 42 }
    );
    assert_eq!(
        serde_json::to_value(Trigger::DaysSinceLastPurchase { days: 42 }).unwrap(),
        serde_json::json!({"kind": "days_since_last_purchase", "days": 42})
    );
}

#[test]
fn bad_triggers_say_what_to_write() {
    let error = |text: &str| text.parse::<Trigger>().unwrap_err().to_string();
    assert!(
        error("sunny-day").contains("is not a trigger"),
        "{}",
        error("sunny-day")
    );
    assert!(
        error("days-since-last-purchase").contains("write it like days-since-last-purchase:42")
    );
    assert!(error("days-since-last-purchase:six").contains("'six' is not days"));
    assert!(error("days-since-last-purchase:0").contains("give 1 to 3650 days"));
    assert!(error("points-earned:0").contains("at least 1"));
    assert!(error("at-risk:1.5").contains("between 0 and 1"));
    assert!(error("birthday:3").contains("takes no argument"));
    assert!(error("tier-reached:Gold!").contains("not tier"));
}

#[test]
fn actions_parse_and_print_in_the_grammar() {
    for text in [
        "webhook:wh_1a2b3c",
        "reward:birthday",
        "reward:campaign:7",
        "todo:Call {name}: a {segment} who has not come in for {weeks} weeks",
    ] {
        let action: Action = text.parse().unwrap();
        assert_eq!(action.to_string(), text);
    }
    assert_eq!(
        "email:Happy birthday, {name}".parse::<Action>().unwrap(),
        Action::Email {
            subject: "Happy birthday, {name}".into(),
            body: String::new()
        }
    );
    let error = |text: &str| text.parse::<Action>().unwrap_err().to_string();
    assert!(error("sms:hello").contains("is not an action"));
    assert!(error("webhook:https://x").contains("ids start with wh_"));
    assert!(error("todo:Call {nme}").contains("{nme} is not a placeholder"));
    assert!(error("todo:Call {name").contains("without its"));
    assert!(error("reward:points").contains("is not an action"));
}

#[test]
fn templates_fill_in_known_placeholders_and_keep_braces() {
    let text = "Call {name}: a {segment} ({{VIP}}) for {weeks} weeks, {missing}";
    assert!(check_template(text).is_err());
    let text = "Call {name}: a {segment} ({{VIP}}) for {weeks} weeks, {campaign}";
    check_template(text).unwrap();
    let filled = render(text, |name| match name {
        "name" => Some("Mrs Lee".into()),
        "segment" => Some("Champion".into()),
        "weeks" => Some("6".into()),
        _ => None,
    });
    assert_eq!(filled, "Call Mrs Lee: a Champion ({VIP}) for 6 weeks, -");
    assert_eq!(render("{a", |_| None), "{a");
}

#[test]
fn consents_follow_the_action_and_the_use_of_segments() {
    let todo: Action = "todo:Call {name}".parse().unwrap();
    let reward: Action = "reward:birthday".parse().unwrap();
    let lapsed: Trigger = "days-since-last-purchase:42".parse().unwrap();
    let at_risk: Trigger = "at-risk".parse().unwrap();
    let none = Condition::default();
    assert_eq!(consents(&lapsed, &none, &todo), vec![ConsentKind::Messages]);
    assert_eq!(consents(&lapsed, &none, &reward), vec![]);
    assert_eq!(
        consents(&at_risk, &none, &reward),
        vec![ConsentKind::Profiling]
    );
    let champions = Condition {
        segments: vec![Segment::Champions],
        ..Condition::default()
    };
    assert_eq!(
        consents(&lapsed, &champions, &todo),
        vec![ConsentKind::Messages, ConsentKind::Profiling]
    );
}

#[test]
fn a_birthday_reward_needs_the_birthday_trigger() {
    let mut automation = NewAutomation {
        name: "birthday-treat".into(),
        trigger: Trigger::Birthday,
        condition: Condition::default(),
        action: "reward:birthday".parse().unwrap(),
        holdout_permille: 100,
        enabled: true,
    };
    automation.validate().unwrap();
    automation.trigger = Trigger::FirstPurchase;
    assert!(matches!(
        automation.validate(),
        Err(SpecError::Mismatch { .. })
    ));
    automation.trigger = Trigger::Birthday;
    automation.holdout_permille = 501;
    assert!(matches!(
        automation.validate(),
        Err(SpecError::BadHoldout { .. })
    ));
    automation.holdout_permille = 0;
    automation.name = "Birthday Treat".into();
    assert!(matches!(
        automation.validate(),
        Err(SpecError::BadName { .. })
    ));
}

#[test]
fn event_types_are_one_list_with_dotted_names() {
    for t in EventType::ALL {
        assert_eq!(serde_json::to_value(t).unwrap(), t.as_str());
    }
    assert_eq!(EventType::ALL.len(), 9);
}
