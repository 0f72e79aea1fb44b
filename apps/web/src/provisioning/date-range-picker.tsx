import { useState } from 'react';
import { type DateRange, DayPicker } from 'react-day-picker';
import { enGB } from 'react-day-picker/locale';
import 'react-day-picker/style.css';
import { customRangeLabel } from './filter-pills.ts';
import { fromCalendarDay, toCalendarDay } from './format.ts';

/**
 * The custom range's calendar (react-day-picker: keyboard navigation and labels built in). Loaded on
 * first use, so the page's first load does not carry it.
 */
export default function DateRangePicker({
  from,
  to,
  onApply,
  onCancel,
}: {
  from?: string;
  to?: string;
  onApply: (from: string, to: string) => void;
  onCancel: () => void;
}) {
  const [range, setRange] = useState<DateRange | undefined>(
    from && to ? { from: fromCalendarDay(from), to: fromCalendarDay(to) } : undefined,
  );
  const today = new Date();
  const start = range?.from ? toCalendarDay(range.from) : null;
  const end = range?.to ? toCalendarDay(range.to) : start;
  // Two months, ending with this one: the last few weeks are always in view.
  const defaultMonth = range?.from ?? new Date(today.getFullYear(), today.getMonth() - 1, 1);

  return (
    <div className="date-range-picker">
      <DayPicker
        mode="range"
        locale={enGB}
        numberOfMonths={2}
        defaultMonth={defaultMonth}
        selected={range}
        onSelect={setRange}
        disabled={{ after: today }}
        endMonth={today}
        showOutsideDays={false}
      />
      <div className="date-range-footer">
        <p className="date-range-selection" aria-live="polite">
          {start && end ? customRangeLabel(start, end) : 'Choose the first and last day'}
        </p>
        <div className="date-range-actions">
          <button type="button" className="button button-quiet" onClick={onCancel}>
            Cancel
          </button>
          <button
            type="button"
            className="button button-primary"
            disabled={!start || !end}
            onClick={() => start && end && onApply(start, end)}
          >
            Apply
          </button>
        </div>
      </div>
    </div>
  );
}
