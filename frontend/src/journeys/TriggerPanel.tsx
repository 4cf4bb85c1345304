/** The trigger's side panel: what starts the journey, who may enter and when, what the frequency cap does with its emails, and the goals that end it. */
import { ConditionBuilder } from "./ConditionBuilder";
import { DurationInput, FieldMessages, SelectInput, TextInput, exactMessages, messagesFor } from "./fields";
import { humanDuration } from "./duration";
import type { Hints } from "./panels";
import type { JourneySettings } from "./store";
import { useSegments } from "../segments/api";
import { DEFAULT_ATTRIBUTION, DEFAULT_INTEREST_WINDOW, DEFAULT_MAX_DEFERRAL, INTERESTS, OVER_CAP_CHOICES, PRICE_DROP_PERCENT, RE_ENTRY_POLICIES, TRIGGER_TYPES, type Interest, type OverCap, type ReEntryPolicy, type TriggerType } from "./nodeTypes";
import type { ConversionSettings, ExitGoal, Rule, Sending, Trigger, ValidationProblem } from "./types";

/** The attribution windows when the definition names none (journeys/engine/nodes.py). */
const DEFAULT_WINDOWS = DEFAULT_ATTRIBUTION;

const WINDOW_LABELS: Record<keyof typeof DEFAULT_WINDOWS, string> = {
  click: "Credit an email clicked within",
  open: "… or opened within",
  send: "… or sent within",
};

const TRIGGER_LABELS: Record<TriggerType, string> = {
  event: "An event happens",
  inactivity: "A contact has been inactive",
  date_attribute: "A contact date comes near",
  api: "An API call enrolls a contact",
  segment: "A contact enters or leaves a segment",
  price_drop: "A product's price drops",
  back_in_stock: "A product is back in stock",
};

const INTEREST_LABELS: Record<Interest, string> = { viewed: "Viewed it", carted: "Added it to the cart", wishlisted: "Wishlisted it" };

const RE_ENTRY_LABELS: Record<ReEntryPolicy, string> = {
  once: "Once ever",
  after_exit: "Again after leaving",
  cooldown: "Again after a cooldown",
};

const OVER_CAP_LABELS: Record<OverCap, string> = {
  defer: "Delay until allowed (default)",
  skip: "Skip this email",
};

interface Props {
  settings: JourneySettings;
  set: (settings: JourneySettings, field?: string) => void;
  problems: ValidationProblem[];
  /** problems with no node (exit_on goals) */
  journeyProblems: ValidationProblem[];
  hints: Hints;
  eventProperties: string[];
}

export function TriggerPanel({ settings, set, problems, journeyProblems, hints, eventProperties }: Props) {
  const trigger = settings.trigger;
  const entry = settings.entry;
  const setTrigger = (next: Trigger, field: string) => set({ ...settings, trigger: next }, `trigger.${field}`);
  const setEntry = (next: JourneySettings["entry"], field: string) => set({ ...settings, entry: next }, `entry.${field}`);
  const setGoals = (goals: ExitGoal[], field = "goals") => set({ ...settings, exit_on: goals }, `exit_on.${field}`);
  const sending: Sending = settings.sending ?? {};
  const overCap: OverCap = sending.over_cap ?? "defer";
  const setSending = (next: Sending, field: string) => set({ ...settings, sending: next }, `sending.${field}`);
  // `conversion` is a top-level key the canvas keeps as it is (settings.extra); left out when empty.
  const conversion = (settings.extra.conversion ?? {}) as ConversionSettings;
  const setConversion = (next: ConversionSettings, field: string) => {
    const { conversion: _old, ...extra } = settings.extra;
    const empty = Object.values(next).every((value) => value === undefined);
    set({ ...settings, extra: empty ? extra : { ...extra, conversion: next } }, `conversion.${field}`);
  };
  const firstGoal = settings.exit_on.find((goal) => goal.event && goal.as_conversion !== false)?.event;
  const goalMessages = (index: number) => journeyProblems.filter((problem) => problem.path.startsWith(`exit_on[${index}]`)).map((problem) => problem.message);

  return (
    <>
      <section className="panel-section">
        <h3>What starts the journey</h3>
        <SelectInput
          label="Trigger"
          field="type"
          value={trigger.type}
          options={TRIGGER_TYPES.map((value) => ({ value, label: TRIGGER_LABELS[value] }))}
          onChange={(type) => {
            const base: Trigger = { type };
            if (type === "event") Object.assign(base, { event: "", where: { all: [] } });
            if (type === "inactivity") base.duration = "P30D";
            if (type === "date_attribute") Object.assign(base, { attribute: "contact.traits.renewal_date", offset: "-P7D", time: "09:00" });
            if (type === "segment") Object.assign(base, { on: "entered", exit_when_left: true });
            if (type === "price_drop") Object.assign(base, { min_percent: 10, interest: [...INTERESTS], window: DEFAULT_INTEREST_WINDOW });
            if (type === "back_in_stock") Object.assign(base, { interest: [...INTERESTS], window: DEFAULT_INTEREST_WINDOW });
            setTrigger(base, "type");
          }}
          messages={messagesFor(problems, "type")}
        />
        {trigger.type === "event" ? (
          <>
            <TextInput label="Event" field="event" value={trigger.event ?? ""} placeholder="Checkout Started" suggestions={hints.events} onChange={(event) => setTrigger({ ...trigger, event }, "event")} messages={messagesFor(problems, "event")} />
            <h4>Only when the event's properties match</h4>
            <ConditionBuilder
              label="Trigger conditions"
              rule={trigger.where}
              onChange={(where) => setTrigger({ ...trigger, where }, "where")}
              path="where"
              problems={problems}
              fields={eventProperties.map((name) => `event.properties.${name}`)}
              nested
            />
          </>
        ) : null}
        {trigger.type === "inactivity" ? (
          <DurationInput label="No event for" field="duration" value={trigger.duration} units={["days", "weeks"]} onChange={(duration) => setTrigger({ ...trigger, duration }, "duration")} messages={messagesFor(problems, "duration")} hint="Checked at least every hour." />
        ) : null}
        {trigger.type === "date_attribute" ? (
          <>
            <TextInput
              label="Contact date"
              mono
              field="attribute"
              value={trigger.attribute ?? ""}
              suggestions={["contact.traits.renewal_date", "contact.traits.birthday", "contact.created_at"]}
              onChange={(attribute) => setTrigger({ ...trigger, attribute }, "attribute")}
              messages={messagesFor(problems, "attribute")}
            />
            <div className="inline-fields">
              <DurationInput
                label="Offset"
                field="offset"
                value={(trigger.offset ?? "P0D").replace(/^[-+]/, "")}
                units={["hours", "days", "weeks"]}
                onChange={(value) => setTrigger({ ...trigger, offset: (trigger.offset ?? "").startsWith("-") ? `-${value}` : value }, "offset")}
                messages={messagesFor(problems, "offset")}
              />
              <SelectInput
                label="Before or after"
                value={(trigger.offset ?? "").startsWith("-") ? "before" : "after"}
                options={[
                  { value: "before", label: "before the date" },
                  { value: "after", label: "after the date" },
                ]}
                onChange={(side) => {
                  const amount = (trigger.offset ?? "P0D").replace(/^[-+]/, "");
                  setTrigger({ ...trigger, offset: side === "before" ? `-${amount}` : amount }, "offset");
                }}
              />
            </div>
            <TextInput label="At local time" type="time" field="time" value={trigger.time ?? ""} onChange={(time) => setTrigger({ ...trigger, time }, "time")} messages={messagesFor(problems, "time")} />
          </>
        ) : null}
        {trigger.type === "segment" ? <SegmentTrigger trigger={trigger} setTrigger={setTrigger} problems={problems} /> : null}
        {trigger.type === "price_drop" || trigger.type === "back_in_stock" ? <CatalogTrigger trigger={trigger} setTrigger={setTrigger} problems={problems} /> : null}
        {trigger.type === "api" ? <p className="panel-help">Enroll a contact with <code>POST /api/journeys/&lt;id&gt;/enroll</code> and a payload; the payload is the trigger event's properties.</p> : null}
      </section>

      <section className="panel-section">
        <h3>Who may enter</h3>
        <SelectInput
          label="Entering again"
          field="entry.re_entry"
          value={(entry.re_entry ?? "after_exit") as ReEntryPolicy}
          options={RE_ENTRY_POLICIES.map((value) => ({ value, label: RE_ENTRY_LABELS[value] }))}
          onChange={(re_entry) => {
            const next = { ...entry, re_entry };
            if (re_entry === "cooldown") next.cooldown = entry.cooldown ?? "P7D";
            else delete next.cooldown;
            setEntry(next, "re_entry");
          }}
          messages={messagesFor(problems, "entry.re_entry")}
        />
        {entry.re_entry === "cooldown" ? (
          <DurationInput label="Cooldown" field="entry.cooldown" value={entry.cooldown} units={["hours", "days", "weeks"]} onChange={(cooldown) => setEntry({ ...entry, cooldown }, "cooldown")} messages={messagesFor(problems, "entry.cooldown")} />
        ) : null}
        <h4>Only contacts who match</h4>
        <ConditionBuilder label="Audience" rule={entry.audience as Rule | undefined} onChange={(audience) => setEntry({ ...entry, audience }, "audience")} path="entry.audience" problems={problems} fields={hints.fields.filter((name) => !name.startsWith("event."))} events={hints.events} />
      </section>

      <section className="panel-section">
        <h3>Frequency cap</h3>
        <SelectInput
          label="When a contact is over the frequency cap"
          field="sending.over_cap"
          value={overCap}
          options={OVER_CAP_CHOICES.map((value) => ({ value, label: OVER_CAP_LABELS[value] }))}
          onChange={(over_cap) => setSending({ ...sending, over_cap }, "over_cap")}
          messages={[...exactMessages(problems, "sending"), ...messagesFor(problems, "sending.over_cap")]}
          hint="The cap (marketing emails per contact in a time window) is set in the workspace's sending settings; transactional emails are never held back."
        />
        {overCap === "defer" ? (
          <DurationInput
            label="Skip it if delayed longer than"
            field="sending.max_deferral"
            value={sending.max_deferral ?? DEFAULT_MAX_DEFERRAL}
            units={["hours", "days", "weeks"]}
            onChange={(max_deferral) => setSending({ ...sending, max_deferral }, "max_deferral")}
            messages={messagesFor(problems, "sending.max_deferral")}
          />
        ) : null}
      </section>

      <section className="panel-section" data-field="conversion">
        <h3>Conversions</h3>
        <p className="panel-help">The journey's report counts a conversion when a contact in it (or who left it lately) does this event, and credits it to the last email of the journey they clicked, opened or were sent within these windows.</p>
        <FieldMessages messages={[...exactMessages(problems, "conversion"), ...exactMessages(problems, "conversion.windows")]} />
        <TextInput
          label="Conversion event"
          field="conversion.event"
          value={conversion.event ?? ""}
          placeholder={firstGoal ?? "Order Completed"}
          suggestions={hints.events}
          hint={firstGoal ? `Left empty: the first goal that counts as a conversion, “${firstGoal}”.` : "Left empty: the first goal that counts as a conversion (there is none yet, so nothing is counted)."}
          onChange={(event) => setConversion({ ...conversion, event: event.trim() ? event : undefined }, "event")}
          messages={messagesFor(problems, "conversion.event")}
        />
        {(Object.keys(DEFAULT_WINDOWS) as (keyof typeof DEFAULT_WINDOWS)[]).map((touch) => (
          <DurationInput
            key={touch}
            label={WINDOW_LABELS[touch]}
            field={`conversion.windows.${touch}`}
            value={conversion.windows?.[touch] ?? DEFAULT_WINDOWS[touch]}
            units={["hours", "days", "weeks"]}
            onChange={(value) => setConversion({ ...conversion, windows: { ...conversion.windows, [touch]: value } }, `windows.${touch}`)}
            messages={messagesFor(problems, `conversion.windows.${touch}`)}
          />
        ))}
        <p className="panel-help">
          From more than zero up to a year; by default {humanDuration(DEFAULT_WINDOWS.click)} after a click,{" "}
          {humanDuration(DEFAULT_WINDOWS.open)} after an open, {humanDuration(DEFAULT_WINDOWS.send)} after a send.
        </p>
      </section>

      <section className="panel-section">
        <h3>Goals: leave the journey when</h3>
        <p className="panel-help">A goal event ends the journey for the contact from any step, the moment it arrives.</p>
        <ol className="goals">
          {settings.exit_on.map((goal, index) => (
            <li key={index} className="goal-row" data-field={`exit_on[${index}]`}>
              <TextInput label={`Goal ${index + 1} event`} value={goal.event ?? ""} suggestions={hints.events} placeholder="Order Completed" onChange={(event) => setGoals(settings.exit_on.map((item, i) => (i === index ? { ...item, event } : item)), `${index}.event`)} />
              <label className="checkbox">
                <input type="checkbox" checked={Boolean(goal.as_conversion)} onChange={(change) => setGoals(settings.exit_on.map((item, i) => (i === index ? { ...item, as_conversion: change.target.checked } : item)))} />
                Count as a conversion
              </label>
              <button type="button" className="button button-quiet button-small" aria-label={`Remove goal ${index + 1}`} onClick={() => setGoals(settings.exit_on.filter((_, i) => i !== index))}>
                ×
              </button>
              <FieldMessages messages={goalMessages(index)} />
            </li>
          ))}
        </ol>
        <button type="button" className="button button-small" onClick={() => setGoals([...settings.exit_on, { event: "Order Completed", as_conversion: true }])}>
          + Goal
        </button>
      </section>
    </>
  );
}

interface TriggerFieldsProps {
  trigger: Trigger;
  setTrigger: (next: Trigger, field: string) => void;
  problems: ValidationProblem[];
}

/** Entering or leaving a saved segment; leaving may end the trip of those who entered. */
function SegmentTrigger({ trigger, setTrigger, problems }: TriggerFieldsProps) {
  const segments = useSegments("", 0);
  const choices = segments.data?.results ?? [];
  const chosen = trigger.segment ? String(trigger.segment) : "";
  const options = [
    { value: "", label: segments.isLoading ? "Loading segments…" : choices.length ? "Choose a segment" : "No segments yet: create one on the Segments page" },
    ...choices.map((segment) => ({ value: String(segment.id), label: `${segment.name} (${segment.member_count.toLocaleString()})` })),
  ];
  if (chosen && !choices.some((segment) => String(segment.id) === chosen)) options.push({ value: chosen, label: `Segment #${chosen}` });
  return (
    <>
      <SelectInput label="Segment" field="segment" value={chosen} options={options} onChange={(value) => setTrigger({ ...trigger, segment: value ? Number(value) : undefined }, "segment")} messages={messagesFor(problems, "segment")} />
      <SelectInput
        label="When a contact"
        field="on"
        value={trigger.on ?? "entered"}
        options={[
          { value: "entered", label: "enters the segment" },
          { value: "left", label: "leaves the segment" },
        ]}
        onChange={(on) => setTrigger({ ...trigger, on, exit_when_left: on === "entered" ? trigger.exit_when_left : undefined }, "on")}
        messages={messagesFor(problems, "on")}
      />
      {(trigger.on ?? "entered") === "entered" ? (
        <label className="checkbox" data-field="exit_when_left">
          <input type="checkbox" checked={trigger.exit_when_left === true} onChange={(event) => setTrigger({ ...trigger, exit_when_left: event.target.checked }, "exit_when_left")} /> Leave the journey on leaving the segment
        </label>
      ) : null}
      <p className="panel-help">Membership is updated as each event arrives, so the journey starts within a second of the change.</p>
    </>
  );
}

/** A price drop (by a percentage and/or below a price) or a restock, for contacts interested in the product. */
function CatalogTrigger({ trigger, setTrigger, problems }: TriggerFieldsProps) {
  const interest = trigger.interest ?? [...INTERESTS];
  const [low, high] = PRICE_DROP_PERCENT;
  const numberOrUndefined = (text: string) => (text.trim() === "" ? undefined : Number(text));
  return (
    <>
      {trigger.type === "price_drop" ? (
        <div className="inline-fields">
          <TextInput label="Drops by at least (%)" type="number" field="min_percent" value={trigger.min_percent === undefined ? "" : String(trigger.min_percent)} hint={`${low} to ${high}`} onChange={(text) => setTrigger({ ...trigger, min_percent: numberOrUndefined(text) }, "min_percent")} messages={messagesFor(problems, "min_percent")} />
          <TextInput label="Or falls below (price)" type="number" field="below" value={trigger.below === undefined ? "" : String(trigger.below)} onChange={(text) => setTrigger({ ...trigger, below: numberOrUndefined(text) }, "below")} messages={messagesFor(problems, "below")} />
        </div>
      ) : null}
      <fieldset className="trigger-interest" data-field="interest">
        <legend>For contacts who</legend>
        {INTERESTS.map((item) => (
          <label key={item} className="checkbox">
            <input
              type="checkbox"
              checked={interest.includes(item)}
              onChange={(event) => setTrigger({ ...trigger, interest: event.target.checked ? [...interest, item] : interest.filter((other) => other !== item) }, "interest")}
            />{" "}
            {INTEREST_LABELS[item]}
          </label>
        ))}
        <FieldMessages messages={messagesFor(problems, "interest")} />
      </fieldset>
      <DurationInput label="Within the last" field="window" value={trigger.window ?? DEFAULT_INTEREST_WINDOW} units={["days", "weeks"]} onChange={(window) => setTrigger({ ...trigger, window }, "window")} messages={messagesFor(problems, "window")} hint="Each contact enters once per product in this window." />
      <p className="panel-help">
        The trigger event carries the product: <code>{"{{ event.properties.name }}"}</code>, <code>{"{{ event.old_price | money }}"}</code>, <code>{"{{ event.new_price | money }}"}</code>
        {trigger.type === "price_drop" ? <>, <code>{"{{ event.percent_off }}"}</code></> : null}.
      </p>
    </>
  );
}
