/**
 * A record's fields whose values repeat across an organisation's users: 200k people share a few thousand
 * names, titles, departments, locations, managers and start dates.
 */
interface Repeating {
  firstName: string | null;
  lastName: string | null;
  jobTitle: string | null;
  department: string | null;
  location: string | null;
  managerEmail: string | null;
  startDate: string | null;
}

export interface Interner {
  <T extends string | null>(value: T): T;
  /**
   * Characters of the values given back as the copy already held: the text interning kept from being held
   * twice. What a run keeps of the values passed in is their length less this (TextBudget counts that).
   */
  readonly reused: number;
}

/** Past this many distinct values (a file of all-different values) new ones are kept as they come. */
const MAX_INTERNED = 50_000;

/**
 * One copy of each repeated value: the rows of a run and the directory it is planned against are held
 * whole, and 200k users' copies of the same department would otherwise be most of the memory they take.
 */
export function createInterner(): Interner {
  const seen = new Map<string, string>();
  const intern = <T extends string | null>(value: T): T => {
    if (value === null) return value;
    const known = seen.get(value);
    if (known !== undefined) {
      counted.reused += known.length;
      return known as T;
    }
    if (seen.size < MAX_INTERNED) seen.set(value, value);
    return value;
  };
  const counted = Object.assign(intern, { reused: 0 });
  return counted;
}

/**
 * Replaces a record's repeating values by their one copy. The fields are named one by one: a loop over
 * property names makes each a keyed access, which cost a quarter more over 100k rows.
 */
export function internRepeating(record: Repeating, intern: Interner): void {
  record.firstName = intern(record.firstName);
  record.lastName = intern(record.lastName);
  record.jobTitle = intern(record.jobTitle);
  record.department = intern(record.department);
  record.location = intern(record.location);
  record.managerEmail = intern(record.managerEmail);
  record.startDate = intern(record.startDate);
}
